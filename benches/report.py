#!/usr/bin/env python3
"""Prints the dataplane benchmark table (Markdown) from criterion's estimates.

Run `cargo bench --all-features --bench dataplane` first; this reads
target/criterion/<group>/<depth>/new/estimates.json (mean time per iteration, where an
iteration moves `depth` 4 KiB commands) and prints commands/s and the ratio to the memcpy
loop that moves the same bytes.
"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
DEPTHS = [1, 32, 128]


def rate(group, depth):
    path = root / group / str(depth) / "new" / "estimates.json"
    mean_ns = json.loads(path.read_text())["mean"]["point_estimate"]
    return depth / (mean_ns / 1e9)


print("| queue depth | read 4k cmds/s | write 4k cmds/s | memcpy 4k/s | read / memcpy | write / memcpy |")
print("|---:|---:|---:|---:|---:|---:|")
for d in DEPTHS:
    r, w, m = rate("read_4k", d), rate("write_4k", d), rate("memcpy_4k", d)
    print(f"| {d} | {r:,.0f} | {w:,.0f} | {m:,.0f} | {r / m:.2f} | {w / m:.2f} |")
