#!/usr/bin/env python3
"""Prints a benchmark table (Markdown) from criterion's estimates.

    python3 benches/report.py [dataplane|file] [CRITERION_DIR]

dataplane (default): run `cargo bench --all-features --bench dataplane` first; prints
    commands/s of the RAM dataplane and the ratio to the memcpy loop that moves the same
    bytes.
file: run `cargo bench --all-features --bench file_backstore` first; prints commands/s of
    the file backstore (io_uring) and, when the dataplane estimates are there too, the
    ratio to the RAM dataplane at the same depth.

Both read CRITERION_DIR/<group>/<depth>/new/estimates.json (default target/criterion:
the mean time per iteration, where an iteration moves `depth` 4 KiB commands).
"""
import json
import pathlib
import sys

DEPTHS = [1, 32, 128]


def rate(root, group, depth):
    """Commands per second, or None when the estimate is missing."""
    path = root / group / str(depth) / "new" / "estimates.json"
    if not path.exists():
        return None
    mean_ns = json.loads(path.read_text())["mean"]["point_estimate"]
    return depth / (mean_ns / 1e9)


def num(x):
    return f"{x:,.0f}" if x else "–"


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "–"


def dataplane(root):
    print("| queue depth | read 4k cmds/s | write 4k cmds/s | memcpy 4k/s | read / memcpy | write / memcpy |")
    print("|---:|---:|---:|---:|---:|---:|")
    for d in DEPTHS:
        r, w, m = (rate(root, g, d) for g in ("read_4k", "write_4k", "memcpy_4k"))
        print(f"| {d} | {num(r)} | {num(w)} | {num(m)} | {ratio(r, m)} | {ratio(w, m)} |")


def file(root):
    print("| queue depth | file read 4k cmds/s | file write 4k cmds/s | read / RAM read | write / RAM write |")
    print("|---:|---:|---:|---:|---:|")
    for d in DEPTHS:
        r, w = rate(root, "file_read_4k", d), rate(root, "file_write_4k", d)
        rr, rw = rate(root, "read_4k", d), rate(root, "write_4k", d)
        print(f"| {d} | {num(r)} | {num(w)} | {ratio(r, rr)} | {ratio(w, rw)} |")


def main(argv):
    kind = "dataplane"
    if argv and argv[0] in ("dataplane", "file"):
        kind = argv.pop(0)
    root = pathlib.Path(argv[0] if argv else "target/criterion")
    {"dataplane": dataplane, "file": file}[kind](root)


if __name__ == "__main__":
    main(sys.argv[1:])
