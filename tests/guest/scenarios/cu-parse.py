#!/usr/bin/env python3
"""Parse iscsi-test-cu output (CUnit basic mode, verbose) into "Suite.Test<TAB>result" lines.

result is passed, failed (a "[FAILED]" message or a FAILED verdict) or skipped (the test
printed "[SKIPPED]" and passed: libiscsi's way of skipping, e.g. an unimplemented opcode).
"""
import re
import sys

results = {}
order = []
suite = None
current = None
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"Suite: (\S+)", line)
    if m:
        suite, current = m.group(1), None
        continue
    m = re.match(r"\s+Test: (\S+) \.\.\.(.*)$", line)
    if m and suite:
        current = f"{suite}.{m.group(1)}"
        order.append(current)
        results[current] = "passed"
        rest = m.group(2)
    else:
        rest = line
    if current is None:
        continue
    if "[SKIPPED]" in rest and results[current] == "passed":
        results[current] = "skipped"
    if "[FAILED]" in rest or re.match(r"\s*FAILED\s*$", rest):
        results[current] = "failed"
    if re.match(r"Run Summary", rest.strip()):
        current = None
for t in order:
    print(f"{t}\t{results[t]}")
