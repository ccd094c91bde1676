#!/usr/bin/env python3
"""Writes the seed inputs of the scsi_commands fuzz target into corpus/scsi_commands/.

Each seed is: direction byte (1 = data-out, 0 = data-in), CDB length, CDB, then the
data-out bytes or a 2-byte data-in length. One seed per command family, so the fuzzer
starts from commands the emulation accepts and mutates their fields from there.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "scsi_commands")
BLOCK = 512


def seed(cdb, data_out=None, data_in=0):
    if data_out is not None:
        return bytes([1, len(cdb)]) + bytes(cdb) + bytes(data_out)
    return bytes([0, len(cdb)]) + bytes(cdb) + struct.pack(">H", data_in)


def cdb16(op, b1, lba, n, b14=0):
    return [op, b1] + list(struct.pack(">QI", lba, n)) + [b14, 0]


def cdb10(op, b1, lba, n):
    return [op, b1] + list(struct.pack(">I", lba)) + [0] + list(struct.pack(">H", n)) + [0]


def xcopy_list():
    naa = 0  # the target fills in the unit's NAA when bit 1 of the direction byte is set
    hdr = bytes([1, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 0])
    tgt = bytes([0xE4, 0, 0, 0, 1, 3, 0, 16]) + naa.to_bytes(16, "big") + bytes(5) + bytes([0, 2, 0])
    seg = bytes([2, 0, 0, 0x18, 0, 0, 0, 0, 0, 0]) + struct.pack(">HQQ", 8, 0, 100)
    return hdr + tgt + seg


def unmap_list(lba, n):
    return struct.pack(">HH4xQI4x", 22, 16, lba, n)


seeds = {
    "tur": seed([0, 0, 0, 0, 0, 0]),
    "inquiry": seed([0x12, 0, 0, 0, 255, 0], data_in=255),
    "vpd-b0": seed([0x12, 1, 0xB0, 0, 255, 0], data_in=255),
    "read10": seed(cdb10(0x28, 0, 8, 4), data_in=4 * BLOCK),
    "write10": seed(cdb10(0x2A, 0x08, 8, 2), bytes(range(256)) * 4),
    "write16": seed(cdb16(0x8A, 0, 100, 1), b"\xaa" * BLOCK),
    "verify16-bytchk": seed(cdb16(0x8F, 0x02, 100, 1), b"\xaa" * BLOCK),
    "verify10-medium": seed(cdb10(0x2F, 0, 0, 64)),
    "caw": seed([0x89, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 1, 0, 0], b"\xaa" * BLOCK + b"\x55" * BLOCK),
    "write-same16-unmap": seed(cdb16(0x93, 0x08, 0, 300), bytes(BLOCK)),
    "write-same10-pattern": seed(cdb10(0x41, 0, 10, 20), b"\x11" * BLOCK),
    "unmap": seed([0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], unmap_list(0, 64)),
    "get-lba-status": seed([0x9E, 0x12] + list(struct.pack(">QI", 0, 64)) + [0, 0], data_in=64),
    "xcopy": bytes([3]) + seed([0x83, 0, 0, 0, 0, 0, 0, 0, 0, 0] + list(struct.pack(">I", 76)) + [0, 0], xcopy_list())[1:],
    "receive-copy-op-params": seed([0x84, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0], data_in=64),
    "mode-sense10-all": seed([0x5A, 0, 0x3F, 0, 0, 0, 0, 0x10, 0, 0], data_in=4096),
    "mode-select6-caching": seed([0x15, 0x10, 0, 0, 24, 0],
                                 bytes([0, 0, 0, 0]) + bytes([0x08, 0x12, 0x00]) + bytes(17)),
    "sync-cache16": seed(cdb16(0x91, 0, 0, 0)),
    "format-unit": seed([0x04, 0x10, 0, 0, 0, 0], bytes([0, 0x02, 0, 0])),
    "report-opcodes": seed([0xA3, 0x0C, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0], data_in=4096),
    "read-capacity16": seed([0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], data_in=32),
    "request-sense": seed([0x03, 1, 0, 0, 252, 0], data_in=252),
}

os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, f"seed-{name}"), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {OUT}")
