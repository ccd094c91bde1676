#!/usr/bin/env python3
"""Markdown summary of a conformance run for docs/CONFORMANCE.md.

    tests/guest/conformance-report.py RESULTS_DIR...   (…/share/results/conformance,
                                                        …/share/results/conformance-glfs)

Reads <kind>.tsv (from cu-parse.py) and <kind>.out (iscsi-test-cu's output) for fileio,
user-file, user-ram and user-glfs (the fileio baseline from the first directory that has
one), and prints: totals per backstore, pass/fail/skip per suite, the
tests that fail on LIO's own fileio, regressions (fail on gluster-tcmu, not on fileio),
and every skip with the reason libiscsi printed for it.
"""
import collections
import os
import re
import sys

KINDS = ["fileio", "user-file", "user-ram", "user-glfs"]


def load_tsv(path):
    rows = {}
    for line in open(path):
        test, result = line.rstrip("\n").split("\t")
        rows[test] = result
    return rows


def skip_reasons(path):
    """First [SKIPPED] message of each test."""
    reasons, suite, current = {}, None, None
    for line in open(path, errors="replace"):
        m = re.match(r"Suite: (\S+)", line)
        if m:
            suite, current = m.group(1), None
            continue
        m = re.match(r"\s+Test: (\S+) \.\.\.(.*)$", line)
        if m and suite:
            current = f"{suite}.{m.group(1)}"
            line = m.group(2)
        m = re.search(r"\[SKIPPED\]\s*(.*)", line)
        if m and current and current not in reasons:
            reasons[current] = m.group(1).strip().rstrip(".") or "(no reason printed)"
    return reasons


def main():
    where = {}
    for d in sys.argv[1:]:
        for k in KINDS:
            if k not in where and os.path.exists(os.path.join(d, f"{k}.tsv")):
                where[k] = d
    runs = {k: load_tsv(os.path.join(where[k], f"{k}.tsv")) for k in KINDS if k in where}
    kinds = list(runs)
    print("| backstore | passed | failed | skipped |\n|---|---:|---:|---:|")
    for k in kinds:
        c = collections.Counter(runs[k].values())
        print(f"| {k} | {c['passed']} | {c['failed']} | {c['skipped']} |")

    print("\n### Per suite (passed/failed/skipped)\n")
    print("| suite | " + " | ".join(kinds) + " |\n|---|" + "---|" * len(kinds))
    suites = []
    for t in runs[kinds[0]]:
        s = t.split(".")[0]
        if s not in suites:
            suites.append(s)
    for s in suites:
        cells = []
        for k in kinds:
            c = collections.Counter(r for t, r in runs[k].items() if t.split(".")[0] == s)
            cells.append(f"{c['passed']}/{c['failed']}/{c['skipped']}")
        print(f"| {s} | " + " | ".join(cells) + " |")

    base = runs.get("fileio", {})
    print("\n### Failing on LIO's own fileio in the same run\n")
    for t, r in base.items():
        if r == "failed":
            print(f"* `{t}`")
    for k in kinds:
        if k == "fileio":
            continue
        own = os.path.join(where[k], "fileio.tsv")
        kbase = load_tsv(own) if os.path.exists(own) else base
        reg = [t for t, r in runs[k].items() if r == "failed" and kbase.get(t) != "failed"]
        print(f"\n### On {k}: failed here but not on fileio in the same boot: {len(reg)}\n")
        for t in reg:
            print(f"* `{t}`")
        for suffix, what in (("flaky", "passed when run again alone"),
                             ("kernel", "failed in LIO's own handling (not counted)"),
                             ("regressions", "regressions that count")):
            path = os.path.join(where[k], f"{k}.{suffix}.tsv")
            if os.path.exists(path):
                names = [line.split("\t")[0] for line in open(path) if line.strip()]
                print(f"* {what}: {', '.join(f'`{t}`' for t in names) or 'none'}")

    for k in kinds:
        out = os.path.join(where[k], f"{k}.out")
        if k == "fileio" or not os.path.exists(out):
            continue
        reasons = skip_reasons(out)
        by_reason = collections.defaultdict(list)
        for t, r in runs[k].items():
            if r == "skipped":
                by_reason[reasons.get(t, "(no reason printed)")].append(t)
        print(f"\n### Skips on {k}, with libiscsi's reason\n")
        print("| reason | tests |\n|---|---|")
        for reason, tests in sorted(by_reason.items(), key=lambda x: -len(x[1])):
            print(f"| {reason} | {', '.join(f'`{t}`' for t in tests)} |")


main()
