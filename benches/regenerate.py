#!/usr/bin/env python3
"""Runs the benchmarks and rewrites docs/BENCHMARKS.md (use benches/regenerate.sh).

Sections (--only picks some; the others keep their figures from docs/benchmarks.json):
  file_vs_fio  benches/file-vs-fio.sh on /dev/shm (and --ext4 PATH)
  criterion    cargo bench: dataplane (RAM) and file_backstore, one thread each
  many_luns    examples/many_luns, file and RAM backstores, --reactors threads
  glfs         (--glfs) examples/glfs_fio beside fio gfapi_async on volume gt1 @ 127.0.0.2
  guest        (--guest-results DIR) tables from the bench-fio guest scenario's results
  handlers     (--handlers-results DIR) gluster-tcmu beside tcmu-runner: the bench-handlers
               guest scenario's results (benches/handlers.py)

Everything is logged under target/bench-results/regen-<timestamp>/.
"""
import argparse
import csv
import datetime
import json
import os
import pathlib
import platform
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
DATA = DOCS / "benchmarks.json"
DOC = DOCS / "BENCHMARKS.md"
PLOT = DOCS / "benchmarks-iops-vs-qd.png"
HANDLERS_PLOT = DOCS / "benchmarks-handlers.png"
sys.path.insert(0, str(REPO / "benches"))
import report  # noqa: E402  (benches/report.py: criterion estimates)
import handlers  # noqa: E402  (benches/handlers.py: the bench-handlers tables)

CASES = [("randread", "4k", 1), ("randread", "4k", 32), ("randread", "4k", 128),
         ("randwrite", "4k", 32), ("read", "128k", 16), ("write", "128k", 16)]
BYTES = {"4k": 4096, "128k": 131072, "1m": 1 << 20}
GLFS_VOLUME, GLFS_HOST, GLFS_IMAGE, GLFS_MIB = "gt1", "127.0.0.2", "fio-bench.img", 256
# Durable writes, as on a targetcli-default `user:` LUN (WCE=0, every write FUA): fio opens
# its file O_SYNC (--sync=1), ours runs with wce=0 (one O_DSYNC write per command).
GLFS_DURABLE_CASES = [("randwrite", "4k", 32), ("write", "128k", 16)]
NOTES_BEGIN, NOTES_END = "<!-- notes:begin -->", "<!-- notes:end -->"


class Runner:
    """Runs commands from the repository root, logging each one's output."""

    def __init__(self, logdir):
        self.logdir = logdir
        self.n = 0
        logdir.mkdir(parents=True, exist_ok=True)

    def __call__(self, cmd, check=True, env=None):
        self.n += 1
        log = self.logdir / f"{self.n:02d}-{pathlib.Path(cmd[0]).name}.log"
        print(f"regenerate: {' '.join(map(str, cmd))}  (log {log})", file=sys.stderr, flush=True)
        with open(log, "w") as f:
            p = subprocess.run([str(c) for c in cmd], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=f, text=True, env={**os.environ, **(env or {})})
            f.write(p.stdout)
        if check and p.returncode != 0:
            sys.exit(f"regenerate: {cmd[0]} failed ({p.returncode}); see {log}")
        return p.stdout


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO).stdout.strip()
    except OSError:
        return ""


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    osname = next((line.split("=", 1)[1].strip().strip('"') for line in open("/etc/os-release")
                   if line.startswith("PRETTY_NAME")), "?")
    gluster = sh(["sh", "-c", "gluster --version 2>/dev/null | head -1"]) or "not installed"
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / 1048576, 1),
        "kernel": platform.release(), "os": osname, "rustc": sh(["rustc", "--version"]),
        "fio": sh(["fio", "--version"]) or "not installed", "gluster": gluster,
    }


def stamp():
    dirty = "-dirty" if sh(["git", "status", "--porcelain", "--", "src", "benches", "examples"]) else ""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": sh(["git", "rev-parse", "--short", "HEAD"]) + dirty,
        "load": [round(x, 2) for x in os.getloadavg()],
        "host": f"{machine()['cpu']}, {os.cpu_count()} cores",
    }


# --- running ------------------------------------------------------------------------------

def run_file_vs_fio(run, args):
    targets = [("/dev/shm", False)] + ([(args.ext4, False)] if args.ext4 else [])
    if args.ext4 and args.direct:
        targets.append((args.ext4, True))
    out = []
    for path, direct in targets:
        d = run.logdir / f"file-vs-fio-{len(out)}"
        cmd = ["benches/file-vs-fio.sh", "--runtime", args.runtime, "--size-mib", args.size_mib,
               "--repeat", args.repeat, "--busy-poll-us", args.busy_poll_us,
               "--gather-us", args.gather_us, "--out", d]
        if direct:
            cmd.append("--direct")
        cmd.append(path)
        first = run(cmd).splitlines()[0]
        rows = list(csv.DictReader(open(d / "file-vs-fio.tsv"), delimiter="\t"))
        for r in rows:
            r["qd"], r["fio_iops"], r["gt_iops"] = int(r["qd"]), int(r["fio_iops"]), int(r["gt_iops"])
            for k in ("gt_poll_iops", "gt_one_iops"):
                if r.get(k, "-").isdigit():
                    r[k] = int(r[k])
        fstype = re.search(r"\(([^,)]+)\)", first)
        out.append({"path": path, "fstype": fstype.group(1) if fstype else "?", "direct": direct,
                    "runtime": args.runtime, "size_mib": args.size_mib, "repeat": args.repeat,
                    "busy_poll_us": args.busy_poll_us, "gather_us": args.gather_us, "rows": rows})
    return {"run": stamp(), "targets": out}


def run_criterion(run, args):
    extra = ["--", "--warm-up-time", "1", "--measurement-time", "2"] if args.quick else []
    st = stamp()
    for bench in ("dataplane", "file_backstore"):
        run(["cargo", "bench", "--features", "test-utils", "--bench", bench] + extra)
    root = REPO / "target" / "criterion"
    groups = ["read_4k", "write_4k", "memcpy_4k", "file_read_4k", "file_write_4k"]
    rates = {g: {str(d): report.rate(root, g, d) for d in report.DEPTHS} for g in groups}
    return {"run": st, "rates": rates}


def run_many_luns(run, args):
    run(["cargo", "build", "--release", "--quiet", "--features", "test-utils", "--example", "many_luns"])
    st, runs = stamp(), []
    for kind in ("file", "ram"):
        cmd = ["target/release/examples/many_luns", "--luns", args.luns, "--reactors", args.reactors,
               "--backstore", kind]
        text = run(cmd)
        summary = dict(kv.split("=", 1) for line in text.splitlines()
                       if line.startswith("gluster-tcmu-luns ") for kv in line.split()[1:])
        table = [line for line in text.splitlines() if line.startswith("|")]
        runs.append({"cmd": " ".join(map(str, cmd)), "title": text.splitlines()[0],
                     "table": table, "summary": summary})
    return {"run": st, "runs": runs}


def fio_iops(path):
    j = json.load(open(path))["jobs"][0]
    if j["error"]:
        sys.exit(f"regenerate: fio error {j['error']} in {path}")
    return round(j["read"]["iops"] + j["write"]["iops"])


def run_glfs(run, args):
    run(["tests/gluster/setup.sh"])
    run(["cargo", "build", "--release", "--quiet", "--features", "glfs,test-utils", "--example", "glfs_fio"])
    # O_DIRECT, as the glfs backstore opens its image (no write-behind acknowledging early).
    gfapi = ["fio", "--ioengine=gfapi_async", f"--volume={GLFS_VOLUME}", f"--brick={GLFS_HOST}",
             f"--filename={GLFS_IMAGE}", f"--size={GLFS_MIB}m", "--direct=1", "--output-format=json"]
    d = run.logdir / "glfs"
    d.mkdir(exist_ok=True)
    st = stamp()
    # Fill the image once so that reads hit data, not holes.
    run(gfapi + ["--name=fill", "--rw=write", "--bs=1m", "--iodepth=8", f"--output={d}/fill.json"])
    rows = []
    cases = [c + (False,) for c in CASES] + [c + (True,) for c in GLFS_DURABLE_CASES]
    for pattern, bs, qd, durable in cases:
        fios, gts, polled, ones = [], [], [], []
        # fio and ours in turn (sleeping, then busy polling), --repeat times; medians (a
        # shared machine is noisy).
        for r in range(1, args.repeat + 1):
            tag = f"{pattern}-{bs}-qd{qd}{'-durable' if durable else ''}-r{r}"
            run(gfapi + [f"--name={tag}", f"--rw={pattern}", f"--bs={bs}", f"--iodepth={qd}",
                         "--time_based", f"--runtime={args.runtime}", "--norandommap", "--randrepeat=0",
                         f"--output={d}/fio-{tag}.json"] + (["--sync=1"] if durable else []))
            fios.append(fio_iops(d / f"fio-{tag}.json"))
            ones.append(glfs_fio_iops(run, pattern, bs, qd, args.runtime, 0, durable, one_thread=True))
            gts.append(glfs_fio_iops(run, pattern, bs, qd, args.runtime, 0, durable))
            if args.busy_poll_us:
                polled.append(glfs_fio_iops(run, pattern, bs, qd, args.runtime, args.busy_poll_us, durable))
        fio, gt, one = median(fios), median(gts), median(ones)
        row = {"pattern": pattern + (" (durable)" if durable else ""), "bs": bs, "qd": qd,
               "fio_iops": fio, "gt_iops": gt, "ratio": f"{gt / fio:.2f}" if fio else "–",
               "gt_one_iops": one, "one_ratio": f"{one / fio:.2f}" if fio else "–"}
        if polled:
            row["gt_poll_iops"] = median(polled)
            row["poll_ratio"] = f"{median(polled) / fio:.2f}" if fio else "–"
        rows.append(row)
    return {"run": st, "volume": f"{GLFS_VOLUME} (1 brick) on {GLFS_HOST}", "runtime": args.runtime,
            "repeat": args.repeat, "busy_poll_us": args.busy_poll_us, "rows": rows}


def glfs_fio_iops(run, pattern, bs, qd, runtime, busy_poll_us, durable, one_thread=False):
    """One examples/glfs_fio run; its IOPS. `durable`: the LUN's write cache off (WCE=0);
    `one_thread`: the device on the calling thread (the criterion benches' harness)."""
    line = run(["target/release/examples/glfs_fio"] + (["--one-thread"] if one_thread else [])
               + [GLFS_VOLUME, GLFS_HOST, GLFS_IMAGE, GLFS_MIB,
                  pattern, BYTES[bs], qd, runtime, busy_poll_us, 0 if durable else 1])
    return int(re.search(r" iops=(\d+)", line).group(1))


def median(values):
    """The middle value (lower middle for an even count)."""
    v = sorted(values)
    return v[(len(v) - 1) // 2]


def read_guest(directory):
    d = pathlib.Path(directory)
    found = sorted(d.rglob("bench.tsv"))
    if not found:
        sys.exit(f"regenerate: no bench.tsv under {d} (the bench-fio scenario's results)")
    d = found[-1].parent
    rows = list(csv.DictReader(open(d / "bench.tsv"), delimiter="\t"))
    luns = list(csv.DictReader(open(d / "luns.tsv"), delimiter="\t"))
    return {"run": {"date": datetime.datetime.fromtimestamp((d / "bench.tsv").stat().st_mtime,
                                                            datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                    "source": str(d),
                    # The guest's speed under TCG follows the host CPU (about half on an
                    # Intel Xeon of what it is on an AMD EPYC): read the results on the
                    # machine that booted the guest.
                    "host": f"{machine()['cpu']}, {os.cpu_count()} cores"},
            "rows": rows, "luns": luns}


# --- rendering ------------------------------------------------------------------------------

def n(x):
    if isinstance(x, str):
        return x
    return f"{x:,.0f}" if x else "–"


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "–"


def measured(sec):
    r = sec["run"]
    if "source" in r:
        where = f" in a guest on {r['host']}" if "host" in r else ""
        return f"*Measured {r['date']}{where}; results from `{r['source']}`.*"
    return (f"*Measured {r['date']} at commit {r['commit']} on {r['host']}; "
            f"load average {r['load'][0]} when it started.*")


def md_machine(m, args_line):
    return f"""## Machine and versions (latest run)

| | |
|---|---|
| CPU | {m['cpu']}, {m['cores']} cores |
| memory | {m['memory_gib']} GiB |
| OS / kernel | {m['os']} / {m['kernel']} |
| rustc | {m['rustc']} |
| fio | {m['fio']} |
| gluster | {m['gluster']} |
| command | `{args_line}` |
"""


def md_file_vs_fio(sec):
    out = ["## File backstore vs fio io_uring, same file", "", measured(sec), "",
           "`benches/file-vs-fio.sh [PATH]` runs `fio --ioengine=io_uring` and then",
           "`examples/file_bench` with the same pattern, queue depth, block size and runtime on the",
           "same file, in turn, `--repeat` times, and reports the medians. fio submits from one",
           "thread (plus io_uring's workers where the file system punts reads to them). Our side is",
           "the fake kernel (it queues the commands and **copies the data into and out of the data",
           "area itself**, as target_core_user does in the kernel) and the device with the file",
           "backstore, run two ways:", "",
           "* **one thread** (`file_bench --one-thread`, the criterion benches' harness, which",
           "  issue 7's criterion target describes): kernel and device take turns on one thread, as fio's submission and",
           "  completion do, keeping `qd` commands in flight; the backstore submits to its own",
           "  io_uring. The ratio is our dataplane + io_uring + that memcpy against io_uring",
           "  alone.",
           "* **reactor**: the device on a reactor thread as in the daemon, the fake kernel on the",
           "  calling thread. This adds what the kernel-to-handler protocol costs on this machine:",
           "  two wake-ups per batch between the two threads (the doorbell to the reactor, the",
           "  kick back). With a real kernel the write copy runs in the initiator's",
           "  context and the read copy inside the daemon's doorbell write.", "",
           "The busy-poll columns give the reactor a polling window (`--busy-poll-us`, the daemon's",
           "`[reactor] busy_poll_us`): after a busy turn it looks",
           "for new commands and completions that long before sleeping, except while its file I/O",
           "runs in io_uring's workers. The fake kernel still sleeps on the reactor's kick: the real",
           "kernel never spins (the initiator sleeps, and completions run inside the daemon's",
           "doorbell write). Before 2026-11-26 13:00 the fake kernel polled too, which flattered",
           "reads (1.19 of fio at depth 32 on ext4) and took CPU from writes; that mode is still",
           "there for experiments (`file_bench --kernel-poll-us`). CPU % is the CPU time each",
           "command used (every thread, io_uring's workers included) over the run, in percent of",
           "one core (200 = both cores busy).", ""]
    for t in sec["targets"]:
        poll = t.get("busy_poll_us", 0)
        out += [f"`{t['path']}` ({t['fstype']}, {t['size_mib']} MiB file, {t['runtime']} s per run, "
                f"{'O_DIRECT' if t['direct'] else 'buffered'}, median of {t.get('repeat', 1)}, "
                f"busy poll {poll} µs" + (f", gathering {t['gather_us']} µs" if "gather_us" in t else "")
                + "):", "",
                "| pattern | qd | bs | fio io_uring IOPS | one thread IOPS | ratio | reactor IOPS | ratio "
                "| reactor busy-poll IOPS | ratio | fio CPU % | one thread CPU % | reactor CPU % "
                "| busy-poll CPU % |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        out += [f"| {r['pattern']} | {r['qd']} | {r['bs']} | {n(r['fio_iops'])} "
                f"| {n(r.get('gt_one_iops', '–'))} | {r.get('one_ratio', '–')} | {n(r['gt_iops'])} "
                f"| {r['ratio']} | {n(r.get('gt_poll_iops', '–'))} | {r.get('poll_ratio', '–')} "
                f"| {r.get('fio_cpu', '–')} | {r.get('gt_one_cpu', '–')} | {r.get('gt_cpu', '–')} "
                f"| {r.get('gt_poll_cpu', '–')} |"
                for r in t["rows"]]
        out.append("")
    out += ["Reading it:", "",
            "* One thread: the dataplane's own cost. At depth 32 and more a batch of commands",
            "  costs one `io_uring_enter`, one doorbell read and one kick, where fio enters the",
            "  kernel for each request, so 4 KiB requests come out level with fio or above it. At",
            "  depth 1 the protocol's syscalls (the kernel's doorbell, the handler's read of it and",
            "  its kick) are paid per command beside fio's one. Large reads pay the second copy",
            "  (data area to the initiator's pages) that fio does not make.",
            "* The one-thread backstore's private ring runs task work cooperatively, as the",
            "  reactor's does (since 2026-11-27): on tmpfs, where every request goes to an io_uring",
            "  worker, each worker completion used to interrupt the driving thread with an IPI",
            "  (a fifth of all samples in `perf`), and one-thread 4 KiB reads at depth 32 made",
            "  257k IOPS instead of 870k.",
            "* Reactor: at depth 1 every command crosses two threads and pays two wake-ups (the doorbell to the",
            "  reactor, the completion kick back), where fio waits in one `io_uring_enter`; from depth 32",
            "  on a batch shares one wake-up. The reactor's busy polling saves only its own wake-up:",
            "  the fake kernel still sleeps between commands, as an initiator does.",
            "* fio's own depth-1 rate depends on the file system: on ext4 a buffered read is served",
            "  inline from the page cache (a few µs, one syscall, no thread hop: no handler that",
            "  answers from another thread can match that), on tmpfs this kernel hands it to an",
            "  io_uring worker thread, which costs a wake-up as well.",
            "* tmpfs on this host's kernel does not take non-blocking I/O (`preadv2(RWF_NOWAIT)` on",
            "  /dev/shm fails with EOPNOTSUPP; ext4 accepts it), so io_uring hands every tmpfs read",
            "  and write to its worker threads. fio's workers then copy on both cores at once",
            "  (CPU near 200 %) while ours share the two cores with the reactor and the fake kernel:",
            "  on tmpfs the table measures io_uring's worker scheduling more than the dataplane.",
            "  Writes of 64 KiB and more to a tmpfs file are the exception since 2026-11-26 15:45:",
            "  the backstore copies them at submission (io_uring would run them one at a time in",
            "  one worker anyway), so the 128 KiB write row is the reactor's own copy.",
            "  Since 2026-11-26 20:15 the reactor gathers the workers' completions of small",
            "  requests (`[reactor] gather_us`, 100 µs, in every gluster-tcmu column): one kick per",
            "  batch instead of one per completion. At depth 128 that took 4 KiB reads from",
            "  222,267 to 357,728 IOPS (0.32 to 0.42 of fio); at depth 32 it saves CPU rather",
            "  than time, because there the fake kernel and the reactor take turns with the",
            "  workers on two cores while fio's workers keep both busy (see the notes).",
            "  Buffered ext4 is the dataplane measure: reads complete inline in `io_uring_enter`.",
            "* Buffered ext4 at depth 32 and more: reactor polling lifts reads most (they complete",
            "  inline, so the reactor is the busy side), for some 30-50 % more CPU. Writes go to",
            "  io_uring's workers on ext4 too (see fio's CPU), so the reactor does not spin for them",
            "  and they come out as without polling. Polling is off by default; it pays on a host",
            "  with a core to spare per reactor.",
            "* 128 KiB reads: the reactor's buffered reads complete inline in its `io_uring_enter`,",
            "  a whole batch at once, and only then does the fake kernel copy the batch out; the two",
            "  copies per command (page cache to data area, data area to the initiator) partly take",
            "  turns instead of overlapping, where fio makes one.",
            "* With O_DIRECT on ext4 the virtual disk is the limit and both sides converge at depth.", ""]
    return "\n".join(out)


def md_criterion(sec):
    r = sec["rates"]
    g = lambda k, d: r.get(k, {}).get(str(d))  # noqa: E731
    out = ["## One thread, no wake-ups: criterion (issue 2 and issue 7)", "", measured(sec), "",
           "Commands:", "", "    cargo bench --features test-utils --bench dataplane",
           "    cargo bench --features test-utils --bench file_backstore",
           "    python3 benches/report.py; python3 benches/report.py file", "",
           "What is measured: one thread plays the kernel (the fake kernel queues `depth` 4 KiB",
           "READ(16)/WRITE(16) commands exactly as target_core_user does, copying write data into the",
           "data area), then the device runs one batch (drain the ring, decode, submit to the",
           "backstore, complete, publish `cmd_tail`, one doorbell), then the fake kernel reaps every",
           "completion (checking cmd_id, slot order and flags, copying read data out). Beside it, a",
           "memcpy-only loop moves the same bytes per command (4 KiB into the data area and 4 KiB",
           "between data area and a RAM disk at a random offset): the physical limit of this design",
           "on this machine. The file bench does the same against a 64 MiB file on /dev/shm through",
           "the file backstore's io_uring, waiting on its notifier fd for the completions.", "",
           "| queue depth | RAM read 4k cmds/s | RAM write 4k cmds/s | memcpy 4k/s | read / memcpy "
           "| write / memcpy | file read 4k cmds/s | file write 4k cmds/s | file read / RAM read |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for d in report.DEPTHS:
        rr, rw, m, fr, fw = (g(k, d) for k in ("read_4k", "write_4k", "memcpy_4k", "file_read_4k",
                                                "file_write_4k"))
        out.append(f"| {d} | {n(rr)} | {n(rw)} | {n(m)} | {ratio(rr, m)} | {ratio(rw, m)} | {n(fr)} "
                   f"| {n(fw)} | {ratio(fr, rr)} |")
    rr32, m32 = g("read_4k", 32), g("memcpy_4k", 32)
    out += ["", "Reading it:", "",
            f"* Issue 2 asked for 2,000,000 commands/s on one core and read / memcpy ≥ 0.5 at depth 32;",
            f"  here the RAM dataplane reads {n(rr32)} commands/s at depth 32, {ratio(rr32, m32)} of the",
            f"  {n(m32)}/s that the copies alone reach on this machine. The memcpy rate follows the",
            "  host's memory speed from day to day, so compare ratios; where a command's time goes is",
            "  in the notes (issue 28).",
            "* Queue depth 1 pays three syscalls per command (the fake kernel's doorbell write, the",
            "  handler's doorbell read and its completion kick), which dominates a 4 KiB copy; batching",
            "  is what the design is for, and from depth 32 on a batch costs one of each.",
            "* The figures include the fake kernel's own work (entry writing, data copies, the protocol",
            "  checks on reap), which in production is the kernel's.",
            "* The file backstore adds one io_uring submission per batch, a poll for its completions",
            "  and the kernel's own copy between page cache and data area (on tmpfs there is no disk).",
            ""]
    return "\n".join(out)


def md_many_luns(sec):
    out = ["## Many LUNs on a few reactor threads", "", measured(sec), "",
           "`examples/many_luns` attaches 256 LUNs to a fixed number of reactor threads, drives 64",
           "writes and 64 reads of 4 KiB through each, and reads `/proc/self/status` after each",
           "phase. Every LUN has its own fake kernel: a memfd laid out like target_core_user's map,",
           "mapped twice (the kernel's side and the handler's, as the daemon maps `/dev/uioN`). Those",
           "pages stand for the kernel's ring and data areas and are shown apart (RssShmem); \"own\" is",
           "RssAnon + RssFile. The per-LUN figure is own memory after the I/O minus own memory after",
           "the fake kernels were made, divided by the LUN count (it still includes the fake kernels'",
           "read buffers, about 4 KiB each). File LUNs have no io_uring of their own: their I/O goes",
           "through their reactor's ring (one per reactor thread; the rings show up in RssFile), which",
           "took the figure from 36.9 to 23 KiB per file LUN. `iou-wrk` threads are io_uring's kernel",
           "workers, which come and go.", ""]
    for r in sec["runs"]:
        s = r["summary"]
        out += [f"`{r['cmd']}`: {r['title']}", ""] + r["table"] + [
            "", f"→ {s.get('threads')} threads; own memory {int(s.get('own_kib', 0)) / 1024:.1f} MiB "
                f"above the fake kernels, **{float(s.get('per_lun_kib', 0)):.1f} KiB per LUN**"
                + (" (includes the RAM disks' written 64 KiB chunks)" if s.get("backstore") == "ram" else "")
                + ".", ""]
    return "\n".join(out)


def md_glfs(sec):
    if not sec:
        return ("## glfs backstore vs fio gfapi_async\n\nNot measured yet: "
                "`benches/regenerate.sh --glfs` (needs the loopback volume of tests/gluster/setup.sh).\n")
    out = ["## glfs backstore vs fio gfapi_async, same image", "", measured(sec), "",
           f"Volume {sec['volume']}, image `{GLFS_IMAGE}` ({GLFS_MIB} MiB, filled first), "
           f"{sec['runtime']} s per run, fio and ours in turn, median of {sec.get('repeat', 1)}. fio:", "",
           f"    fio --ioengine=gfapi_async --volume={GLFS_VOLUME} --brick={GLFS_HOST} "
           f"--filename={GLFS_IMAGE} --size={GLFS_MIB}m --direct=1 \\",
           "        --rw=... --bs=... --iodepth=... --time_based --runtime=...", "",
           "(`--direct=1` because the glfs backstore opens its image with O_DIRECT: without it",
           "gfapi's write-behind would acknowledge writes before the bricks have them.)",
           "", "gluster-tcmu (fake kernel + glfs backstore, one machine-readable line):", "",
           f"    target/release/examples/glfs_fio [--one-thread] {GLFS_VOLUME} {GLFS_HOST} {GLFS_IMAGE} "
           f"{GLFS_MIB} randread 4096 32 15 [BUSY_POLL_US [WCE]]", "",
           "As in the file section, *one thread* is the criterion benches' harness (kernel and",
           "device take turns on one thread; it sleeps on the backstore's notifier until gfapi",
           "calls back) and *reactor* runs the device on a reactor thread as the daemon does,",
           "with the fake kernel on another.", "",
           "The *(durable)* rows are the writes of a LUN without write cache (WCE=0, targetcli's",
           "default for `user:` LUNs): every write is FUA, which the glfs backstore sends as one",
           "write carrying `O_DSYNC` (each brick writes and fsyncs before it answers); fio gets",
           "`--sync=1` (its file opened O_SYNC), the same one durable round trip per write.", "",
           f"The busy-poll columns give the reactor a polling window of "
           f"{sec.get('busy_poll_us', '–')} µs (the daemon's `[reactor] busy_poll_us`; the fake kernel "
           "sleeps, as the real kernel's side does): the reactor then finds gfapi's completions in "
           "the mailbox without waiting for its eventfd.", "",
           "| pattern | qd | bs | fio gfapi_async IOPS | one thread IOPS | ratio | reactor IOPS "
           "| ratio | reactor busy-poll IOPS | ratio |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    out += [f"| {r['pattern']} | {r['qd']} | {r['bs']} | {n(r['fio_iops'])} "
            f"| {n(r.get('gt_one_iops', '–'))} | {r.get('one_ratio', '–')} | {n(r['gt_iops'])} "
            f"| {r['ratio']} | {n(r.get('gt_poll_iops', '–'))} | {r.get('poll_ratio', '–')} |"
            for r in sec["rows"]]
    out += ["", "Reading it: the glfs backstore issues the same gfapi calls as fio's engine, so the ratio",
            "is the cost of the ring, the SCSI emulation and the fake kernel's copies on top of gfapi.",
            "fio's gfapi_async engine finds completions by scanning its requests and sleeping 100 µs",
            "when too few are done (`fio_gf_getevents`), which caps it at low depth: that is why",
            "gluster-tcmu can beat it at depth 1, where the backstore is woken by gfapi's callback.",
            "Most of our side's time is thread hand-offs (gfapi's epoll thread to the reactor, the",
            "reactor to the fake kernel), not our code: busy polling removes them and pays at depth",
            "32 and more for 4 KiB, but on these two cores the spinning reactor also takes CPU from",
            "gfapi's threads and the brick process, which costs at depth 1 and for 128 KiB.",
            "gt1 runs `performance.client-io-threads on` (a one-brick volume's default): when this",
            "section was measured the backstore's connection passed its calls through that translator",
            "(now `[glfs] client_io_threads = \"bypass\"`; the default since 2026-12-06 is to use it),",
            "while fio's engine has each one queued for an io-threads worker (docs/DECISIONS.md, \"Gluster",
            "requests go through the client io-threads\"). The rows swing by about 0.2 from run to run",
            "(see the notes)."]
    return "\n".join(out) + "\n"


def guest_iops(rows, lun, job):
    return guest_median(rows, lun, job, "iops")


def guest_mib(rows, lun, job):
    return guest_median(rows, lun, job, "mib_s")


def guest_median(rows, lun, job, key):
    """The median of LUN's runs of JOB (bench-fio runs compared jobs several rounds)."""
    vals = sorted(float(r[key]) for r in rows if r["lun"] == lun and r["job"] == job)
    if not vals:
        return None
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def guest_rounds(rows):
    """How many rounds each compared job ran (1 for runs before rounds were recorded)."""
    return max((int(r.get("round") or 1) for r in rows), default=1)


def md_guest(sec):
    if not sec:
        return ("## In the guest: LIO fileio vs gluster-tcmu user:file through tcm_loop\n\nNot measured "
                "yet: `tests/guest/run.sh [--gluster] bench-fio`, then `benches/regenerate.sh "
                "--only guest --guest-results target/guest-runs/latest/share/results/bench-fio`.\n")
    rows = sec["rows"]
    luns = {r["lun"] for r in rows}
    # fill-1m-8 (the first write of every block of a fresh LUN) is shown but left out of the
    # spread: see the note under the table.
    jobs = ["write-1m-8", "randread-4k-32", "randwrite-4k-32", "read-128k-16", "write-128k-16"]
    shown = (["fill-1m-8"] if any(r["job"] == "fill-1m-8" for r in rows) else []) + jobs
    out = ["## In the guest: LIO fileio vs gluster-tcmu through tcm_loop", "", measured(sec), "",
           "`tests/guest/scenarios/bench-fio.sh` (manual: `tests/guest/run.sh [--gluster] bench-fio`):",
           "one guest boot (QEMU TCG, 2 vCPUs: every figure is far below native, compare ratios",
           "only), a 256 MiB LIO fileio LUN and a 256 MiB gluster-tcmu user:file LUN on the same",
           "tmpfs, each exported through tcm_loop as /dev/sdX, filled with 1 MiB writes (fill-1m-8),",
           "then fio (libaio, direct); with `--gluster` also a 64 MiB user:glfs LUN on the replica-3",
           "volume and fio's gfapi_async engine on a file of that volume (write jobs with `--sync=1`:",
           "the LUN's writes are FUA, see the notes). "
           + (f"Each job runs {guest_rounds(rows)} times per side, the two sides in turn "
              "(A B, B A, A B), and the table gives the medians: one run of a job under TCG "
              "moves by 10-40 %."
              if guest_rounds(rows) > 1 else "One run per job and side."), "",
           "| job (rw-bs-qd) | fileio IOPS | user:file IOPS | user:file / fileio"
           + (" | user:glfs IOPS | gfapi_async IOPS | user:glfs / gfapi |" if "bglfs" in luns else " |"),
           "|---|---:|---:|---:" + ("|---:|---:|---:|" if "bglfs" in luns else "|")]
    for j in shown:
        a, b = guest_iops(rows, "bfileio", j), guest_iops(rows, "bfile", j)
        line = f"| {j} | {n(a)} | {n(b)} | {ratio(b, a)} |"
        if "bglfs" in luns:
            c, d = guest_iops(rows, "bglfs", j), guest_iops(rows, "gfapi", j)
            line += f" {n(c)} | {n(d)} | {ratio(c, d)} |"
        out.append(line)
    out += ["", "Reading it: " + spread(rows, "bfile", "bfileio", jobs, "user:file", "fileio") + " A user:",
            "LUN's data crosses one more copy than fileio's (the kernel copies between the initiator's",
            "pages and the data area, then the daemon's io_uring between the data area and the file)",
            "and two more wake-ups per batch (the UIO doorbell to the daemon, the completion back);",
            "under TCG every copy and context switch is emulated, so this gap is wider than on",
            "hardware (compare the host figures above).", "",
            "fill-1m-8 is not a dataplane measure: in this guest every user-space writer fills fresh",
            "tmpfs pages at about a fifth of the rate it overwrites them (fio straight on a tmpfs file,",
            "512 KiB writes at depth 8, 2026-11-26: psync 253 MiB/s fresh against 1,333 overwriting,",
            "io_uring 240 against 1,225), while fileio writes from the kernel; the overwrite that",
            "follows (write-1m-8) is the comparison."]
    if "bglfs" in luns:
        out += ["", spread(rows, "bglfs", "gfapi", jobs, "user:glfs", "fio's gfapi_async (O_DIRECT) "
                           "on the same volume"),
                "The user:glfs path adds the initiator's SCSI stack, tcm_loop, target_core_user's copy",
                "and the ring to the same gfapi calls, all competing with three bricks for two emulated",
                "CPUs; compare the host section above, where only the ring and our side are added."]
    return "\n".join(out) + "\n"


def spread(rows, lun, base, jobs, name, base_name):
    rs = [guest_iops(rows, lun, j) / guest_iops(rows, base, j) for j in jobs
          if guest_iops(rows, lun, j) and guest_iops(rows, base, j)]
    if not rs:
        return ""
    return f"{name} reaches {min(rs):.2f}–{max(rs):.2f} of the rate of {base_name}."


def md_hw_max_sectors(sec):
    out = ["## Recommended hw_max_sectors", "",
           "A `user:` backstore's `hw_max_sectors` defaults to 128 (512-byte sectors): the initiator",
           "then sees a MAXIMUM TRANSFER LENGTH of 64 KiB and its block layer splits every larger",
           "request, so a 1 MiB write becomes sixteen SCSI commands, sixteen ring entries and sixteen",
           "backstore requests (for glfs sixteen network round trips). fileio's default is 16384.",
           "gluster-tcmu's data path takes one command of up to 8192 sectors (4 MiB) as one vectored",
           "request straight from the data area, so the limit is a choice, not a constraint.", "",
           "**Recommendation: `hw_max_sectors=1024` (512 KiB)** for user:file and user:glfs LUNs:",
           "",
           "* it lets the 128 KiB–1 MiB requests of filesystems, databases and backups through whole",
           "  or in two pieces, which is where almost all of the gain is (table below);",
           "* the kernel's data area is what a LUN's commands in flight occupy: with the default",
           "  `hw_queue_depth` 128, the worst case is 64 MiB per LUN at 1024 sectors but 512 MiB at",
           "  8192, and all LUNs share `global_max_data_area_mb` (2048 by default) — a few streaming",
           "  LUNs at 8192 could make every other LUN wait for data-area space;",
           "* a 512 KiB command holds the backstore (for glfs, the network) for a bounded time, so",
           "  small I/Os queued behind it wait less.", "",
           "Use 8192 only for LUNs that stream large sequential I/O. Set it at creation:", "",
           "    targetcli /backstores/user:file create name=lun0 size=10G cfgstring=/srv/lun0.img hw_max_sectors=1024",
           "",
           "or through configfs before `enable` (`echo hw_max_sectors=1024 > .../user_N/lun0/control`).",
           "The daemon reads `attrib/hw_max_sectors` and advertises it as the MAXIMUM TRANSFER LENGTH",
           "of the Block Limits VPD page, which is what the initiator's `max_sectors_kb` follows.", ""]
    rows = (sec or {}).get("rows", [])
    sweep = [("bhw128", "128"), ("bfile", None), ("bhw8192", "8192")]
    reads = [guest_mib(rows, lun, "read-1m-8") for lun, _ in sweep]
    if any(reads):
        luns = {r["lun"]: r for r in sec.get("luns", [])}
        out += ["Measured in the guest (bench-fio, user:file, 1 MiB sequential I/O at QD8, TCG):", "",
                "| hw_max_sectors | max_sectors_kb seen by the initiator | fill 1m MiB/s | write 1m MiB/s | read 1m MiB/s |",
                "|---:|---:|---:|---:|---:|"]
        for lun, hw in sweep:
            info = luns.get(lun, {})
            out.append(f"| {info.get('hw_max_sectors') or hw or '?'} | {info.get('max_sectors_kb', '?')} "
                       f"| {guest_mib(rows, lun, 'fill-1m-8') or '–'} | {guest_mib(rows, lun, 'write-1m-8') or '–'} "
                       f"| {guest_mib(rows, lun, 'read-1m-8') or '–'} |")
        if all(reads):
            out += ["", f"1 MiB reads: 1024 sectors give {ratio(reads[1], reads[0])}× the throughput of 128; "
                        f"8192 gives {ratio(reads[2], reads[1])}× that of 1024."]
        out.append("")
    return "\n".join(out)


def plot(data):
    """4 KiB random read IOPS against queue depth: one colour per backstore and file system,
    dashed for the reference (fio), solid for gluster-tcmu."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    series = []  # (label, points, colour index, dashed)

    def randread(rows, key):
        return [(r["qd"], r[key]) for r in rows if r["pattern"] == "randread" and r["bs"] == "4k"]

    for i, t in enumerate((data.get("file_vs_fio") or {}).get("targets", [])):
        how = f"{t['fstype']}{', O_DIRECT' if t['direct'] else ''}"
        series.append((f"fio io_uring, file on {how}", randread(t["rows"], "fio_iops"), i, True))
        series.append((f"gluster-tcmu file on {how} (fake kernel + reactor)",
                       randread(t["rows"], "gt_iops"), i, False))
    c = len(series) // 2
    cr = data.get("criterion")
    if cr:
        for key, label in (("read_4k", "gluster-tcmu RAM, one thread (criterion)"),
                           ("file_read_4k", "gluster-tcmu file on tmpfs, one thread (criterion)")):
            pts = [(d, cr["rates"].get(key, {}).get(str(d))) for d in report.DEPTHS]
            series.append((label, [(d, v) for d, v in pts if v], c, False))
            c += 1
    gl = data.get("glfs")
    if gl:
        series.append(("fio gfapi_async, 1-brick volume", randread(gl["rows"], "fio_iops"), c, True))
        series.append(("gluster-tcmu glfs, 1-brick volume", randread(gl["rows"], "gt_iops"), c, False))
    fig, ax = plt.subplots(figsize=(12, 6))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for label, pts, ci, dashed in series:
        if pts:
            xs, ys = zip(*sorted(pts))
            ax.plot(xs, ys, marker="o", linestyle="--" if dashed else "-",
                    color=colours[ci % len(colours)], label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(report.DEPTHS, [str(d) for d in report.DEPTHS])
    ax.set_xlabel("queue depth")
    ax.set_ylabel("4 KiB random reads per second")
    ax.set_title("IOPS vs queue depth (dashed: fio reference; see docs/BENCHMARKS.md)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(PLOT, dpi=100)


def kept_notes():
    if not DOC.exists():
        return ""
    text = DOC.read_text()
    if NOTES_BEGIN in text and NOTES_END in text:
        return text[text.index(NOTES_BEGIN) + len(NOTES_BEGIN):text.index(NOTES_END)].strip("\n")
    return ""


def render(data, args_line):
    notes = kept_notes() or "(Free text here is kept by benches/regenerate.sh.)"
    parts = [
        "# Benchmarks", "",
        "Generated by `benches/regenerate.sh` from `docs/benchmarks.json`; edit the script (or the notes",
        "section at the end), not this file. Figures are only comparable within one run on one machine;",
        "each section says when and where it was measured, and sections not re-run keep their figures.",
        "", "Regenerate everything (about 8 minutes; `--quick` for a smoke run):", "",
        "    benches/regenerate.sh [--ext4 /path/on/ext4] [--glfs] [--guest-results DIR] [--handlers-results DIR]",
        "    benches/regenerate.sh --only many_luns        # one section",
        "", md_machine(data["machine"], args_line),
        f"![IOPS vs queue depth]({PLOT.name})", "",
        md_file_vs_fio(data["file_vs_fio"]) if data.get("file_vs_fio") else "",
        md_criterion(data["criterion"]) if data.get("criterion") else "",
        md_many_luns(data["many_luns"]) if data.get("many_luns") else "",
        handlers.markdown(data.get("handlers"), measured, HANDLERS_PLOT.name),
        md_glfs(data.get("glfs")), md_guest(data.get("guest")), md_hw_max_sectors(data.get("guest")),
        "## Notes", "", NOTES_BEGIN, notes, NOTES_END, "",
    ]
    return "\n".join(p for p in parts if p is not None)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short runs, to try the script (3 s, small criterion)")
    ap.add_argument("--runtime", type=int, default=10, help="seconds per fio / example run (default 10)")
    ap.add_argument("--size-mib", type=int, default=1024, help="file size for file-vs-fio (default 1024)")
    ap.add_argument("--ext4", help="also run file-vs-fio on this path (a directory or file on ext4)")
    ap.add_argument("--direct", action="store_true", help="with --ext4: also an O_DIRECT run there")
    ap.add_argument("--repeat", type=int, default=3,
                    help="file-vs-fio rounds per case, medians reported (default 3)")
    ap.add_argument("--busy-poll-us", type=int, default=50,
                    help="file-vs-fio busy-poll window for the polled run (default 50; 0: none)")
    ap.add_argument("--gather-us", type=int, default=100,
                    help="the reactor's gathering window in the file-vs-fio runs (default 100, the daemon's)")
    ap.add_argument("--reactors", type=int, default=2, help="reactor threads for many_luns (default 2)")
    ap.add_argument("--luns", type=int, default=256, help="LUNs for many_luns (default 256)")
    ap.add_argument("--glfs", action="store_true", help="run the glfs vs gfapi_async section")
    ap.add_argument("--guest-results", help="bench-fio results directory (or a run directory above it)")
    ap.add_argument("--handlers-results", help="bench-handlers results directory (or a run directory above it)")
    ap.add_argument("--only", help="comma-separated sections to run (default: all that apply)")
    ap.add_argument("--render-only", action="store_true", help="rewrite the docs from benchmarks.json")
    args = ap.parse_args()
    if args.quick:
        args.runtime = min(args.runtime, 3)
    data = json.loads(DATA.read_text()) if DATA.exists() else {}
    wanted = set(args.only.split(",")) if args.only else {"file_vs_fio", "criterion", "many_luns"} | (
        {"glfs"} if args.glfs else set()) | ({"guest"} if args.guest_results else set()) | (
        {"handlers"} if args.handlers_results else set())
    if args.render_only:
        wanted = set()
    run = Runner(REPO / "target" / "bench-results" /
                 datetime.datetime.now().strftime("regen-%Y%m%d-%H%M%S"))
    steps = [("criterion", run_criterion), ("file_vs_fio", run_file_vs_fio),
             ("many_luns", run_many_luns), ("glfs", run_glfs)]
    for name, fn in steps:
        if name in wanted:
            data[name] = fn(run, args)
            DATA.write_text(json.dumps(data, indent=1) + "\n")
    if "guest" in wanted:
        data["guest"] = read_guest(args.guest_results)
    if "handlers" in wanted:
        data["handlers"] = handlers.read(args.handlers_results, f"{machine()['cpu']}, {os.cpu_count()} cores")
    if not args.render_only or "machine" not in data:
        data["machine"] = machine()
        data["command"] = " ".join(["benches/regenerate.sh"] + sys.argv[1:])
    DATA.write_text(json.dumps(data, indent=1) + "\n")
    plot(data)
    handlers.plot(data.get("handlers"), HANDLERS_PLOT)
    DOC.write_text(render(data, data["command"]))
    print(f"regenerate: wrote {DOC.relative_to(REPO)}, {PLOT.relative_to(REPO)}, {DATA.relative_to(REPO)}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
