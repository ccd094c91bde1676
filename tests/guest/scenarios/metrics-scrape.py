#!/usr/bin/env python3
"""Scrape gluster-tcmu's Prometheus text (`[metrics] listen`) for one LUN and check it.

  metrics-scrape.py sample URL NAME PHASE OUT        append one sample to OUT
  metrics-scrape.py watch URL NAME OUT SECONDS       append a "during" sample every SECONDS
                                                     until SIGTERM
  metrics-scrape.py check OUT FIO_JSON...            the samples against what fio did

A sample is one JSON line: {"phase", "t", "metrics": {name: value}} with the counters of
the LUN whose `lun` label is `<hba>/NAME`. `check` fails (exit 1, the reason on stderr)
unless: the LUN is in every sample; there are at least two samples taken while fio ran;
no counter goes down; commands, read bytes and write bytes grew between two samples both
taken while fio ran; write (read) bytes grew from the first sample to the last by at
least what fio reports it wrote (read); errors_total is 0 throughout.
"""
import json
import re
import signal
import sys
import time
import urllib.request

LINE = re.compile(r"^(gluster_tcmu_\w+)\{([^}]*)\} (\S+)$")
LABEL = re.compile(r'(\w+)="([^"]*)"')
COUNTERS = (
    "gluster_tcmu_commands_total",
    "gluster_tcmu_read_bytes_total",
    "gluster_tcmu_write_bytes_total",
    "gluster_tcmu_errors_total",
    "gluster_tcmu_refused_total",
)
GROWING = (
    "gluster_tcmu_commands_total",
    "gluster_tcmu_read_bytes_total",
    "gluster_tcmu_write_bytes_total",
)


def scrape(url, name):
    """The LUN's series (histogram buckets left out), or None if it is not listed."""
    with urllib.request.urlopen(url, timeout=10) as reply:
        text = reply.read().decode()
    found = {}
    for line in text.splitlines():
        m = LINE.match(line)
        if not m or m.group(1).endswith("_bucket"):
            continue
        labels = dict(LABEL.findall(m.group(2)))
        if labels.get("lun", "").split("/")[-1] == name:
            found[m.group(1)] = float(m.group(3))
    return found or None


def sample(url, name, phase, out):
    record = {"phase": phase, "t": round(time.time(), 3), "metrics": scrape(url, name)}
    with open(out, "a") as f:
        f.write(json.dumps(record) + "\n")
    return record


def watch(url, name, out, seconds):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        try:
            sample(url, name, "during", out)
        except OSError as e:  # a scrape that fails is reported by check, not fatal here
            print(f"metrics-scrape: {e}", file=sys.stderr)
        time.sleep(seconds)


def fio_bytes(paths):
    """Bytes fio wrote and read (verify reads included), over every job of every file."""
    wrote = read = 0
    for path in paths:
        for job in json.load(open(path))["jobs"]:
            wrote += job["write"]["io_bytes"]
            read += job["read"]["io_bytes"]
    return wrote, read


def fail(why):
    print(f"metrics: {why}", file=sys.stderr)
    sys.exit(1)


def check(out, fio_jsons):
    samples = [json.loads(line) for line in open(out)]
    if not samples or samples[0]["phase"] != "before" or samples[-1]["phase"] != "after":
        fail(f"want a sample before fio and one after; phases {[s['phase'] for s in samples]}")
    for s in samples:
        if s["metrics"] is None:
            fail(f"the LUN is not in the {s['phase']} scrape at {s['t']}")
        missing = [c for c in COUNTERS if c not in s["metrics"]]
        if missing:
            fail(f"the {s['phase']} scrape lacks {missing}")
    during = [s for s in samples if s["phase"] == "during"]
    if len(during) < 2:
        fail(f"{len(during)} scrape(s) while fio ran; want at least 2")
    for a, b in zip(samples, samples[1:]):
        for c in COUNTERS:
            if b["metrics"][c] < a["metrics"][c]:
                fail(f"{c} went down from {a['metrics'][c]:.0f} to {b['metrics'][c]:.0f}")
    for c in GROWING:
        grew = [b for a, b in zip(during, during[1:]) if b["metrics"][c] > a["metrics"][c]]
        if not grew:
            fail(f"{c} did not grow between two scrapes taken while fio ran")
    errors = [s["metrics"]["gluster_tcmu_errors_total"] for s in samples]
    if any(errors):
        fail(f"gluster_tcmu_errors_total is not 0: {errors}")
    first, last = samples[0]["metrics"], samples[-1]["metrics"]
    wrote, read = fio_bytes(fio_jsons)
    wrote_lun = last["gluster_tcmu_write_bytes_total"] - first["gluster_tcmu_write_bytes_total"]
    read_lun = last["gluster_tcmu_read_bytes_total"] - first["gluster_tcmu_read_bytes_total"]
    if wrote_lun < wrote:
        fail(f"the LUN counted {wrote_lun:.0f} bytes written while fio wrote {wrote}")
    if read_lun < read:
        fail(f"the LUN counted {read_lun:.0f} bytes read while fio read {read}")
    for s in samples:
        m = s["metrics"]
        print(f"{s['phase']:6} {s['t'] - samples[0]['t']:6.1f}s commands "
              f"{m['gluster_tcmu_commands_total']:.0f} read {m['gluster_tcmu_read_bytes_total']:.0f} "
              f"written {m['gluster_tcmu_write_bytes_total']:.0f} errors "
              f"{m['gluster_tcmu_errors_total']:.0f} refused {m['gluster_tcmu_refused_total']:.0f}")
    print(f"fio wrote {wrote} and read {read} bytes; the LUN counted {wrote_lun:.0f} "
          f"written and {read_lun:.0f} read meanwhile; {len(during)} scrapes while fio ran")


def main(argv):
    match argv:
        case ["sample", url, name, phase, out]:
            sample(url, name, phase, out)
        case ["watch", url, name, out, seconds]:
            watch(url, name, out, float(seconds))
        case ["check", out, *fio_jsons] if fio_jsons:
            check(out, fio_jsons)
        case _:
            fail(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
