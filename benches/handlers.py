"""The bench-handlers guest scenario's results (handlers.tsv) as docs/BENCHMARKS.md tables and a
plot: gluster-tcmu beside tcmu-runner, LIO fileio, fio gfapi_async, and the write-cache and
O_DIRECT choices. Used by benches/regenerate.py (section `handlers`)."""
import csv
import datetime
import pathlib
import sys

JOBS = ["randread-4k-32", "randwrite-4k-32", "read-128k-16", "write-128k-16"]
WRITE_JOBS = ["randwrite-4k-32", "write-128k-16"]
BACKSTORES = [("file", "user:file, tmpfs file", "fileio"), ("glfs", "user:glfs, replica 3", "gfapi_async"),
              ("ext4", "user:file, ext4 disk", None), ("ram", "user:ram", "fileio")]


def read(directory, host):
    d = pathlib.Path(directory)
    found = sorted(d.rglob("handlers.tsv"))
    if not found:
        sys.exit(f"regenerate: no handlers.tsv under {d} (the bench-handlers scenario's results)")
    path = found[-1]
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    when = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc)
    return {"run": {"date": when.strftime("%Y-%m-%d %H:%M UTC"), "source": str(path.parent), "host": host},
            "rows": rows}


def median(values):
    v = sorted(values)
    return v[(len(v) - 1) // 2] if v else None


def iops(rows, target, backstore, setting, job):
    return median([float(r["iops"]) for r in rows if (r["target"], r["backstore"], r["setting"], r["job"])
                   == (target, backstore, setting, job)])


def rounds(rows):
    return len({r["round"] for r in rows})


def n(x):
    return f"{x:,.0f}" if x else "–"


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "–"


def main_table(rows):
    out = ["| backstore | job | tcmu-runner | gluster-tcmu | ratio | gluster-tcmu, hw_max_sectors=1024 | ratio "
           "| reference | reference IOPS | gluster-tcmu / reference |",
           "|---|---|---:|---:|---:|---:|---:|---|---:|---:|"]
    for backstore, label, ref in BACKSTORES:
        for job in JOBS:
            runner = iops(rows, "tcmu-runner", backstore, "default", job)
            gt = iops(rows, "gluster-tcmu", backstore, "default", job)
            rec = iops(rows, "gluster-tcmu", backstore, "recommended", job)
            ref_iops = iops(rows, ref, "glfs" if ref == "gfapi_async" else "file", "default", job) if ref else None
            out.append(f"| {label} | {job} | {n(runner)} | {n(gt)} | {ratio(gt, runner)} | {n(rec)} "
                       f"| {ratio(rec, runner)} | {ref or '–'} | {n(ref_iops)} | {ratio(gt, ref_iops)} |")
    return out


def choices_table(rows):
    out = ["| backstore | job | default | IOPS | other choice | IOPS | default / other |", "|---|---|---|---:|---|---:|---:|"]
    for backstore, label, setting, default_name, other_name, jobs in [
            ("file", "user:file, tmpfs file", "wce0", "WCE=1", "wce=0", WRITE_JOBS),
            ("glfs", "user:glfs, replica 3", "wce0", "WCE=1", "wce=0", WRITE_JOBS),
            ("ext4", "user:file, ext4 disk", "direct0", "O_DIRECT", "direct=0", JOBS)]:
        for job in jobs:
            a = iops(rows, "gluster-tcmu", backstore, "default", job)
            b = iops(rows, "gluster-tcmu", backstore, setting, job)
            out.append(f"| {label} | {job} | {default_name} | {n(a)} | {other_name} | {n(b)} | {ratio(a, b)} |")
    return out


def markdown(sec, measured, plot_name):
    title = "## In the guest: gluster-tcmu beside tcmu-runner, fileio and gfapi_async"
    if not sec:
        return (f"{title}\n\nNot measured yet: `tests/guest/run.sh bench-handlers`, then `benches/regenerate.sh "
                "--only handlers --handlers-results target/guest-runs/latest/share/results/bench-handlers`.\n")
    rows = sec["rows"]
    out = [title, "", measured(sec), "",
           "`tests/guest/scenarios/bench-handlers.sh` (manual: `tests/guest/run.sh bench-handlers`, about 35",
           "minutes): one guest boot (QEMU TCG, 2 vCPUs, Debian's 6.1 kernel: compare ratios, never",
           "absolute figures). tcmu-runner 1.5.4 is Debian's source package built with its glfs handler",
           "into the guest image (tests/guest/build-image.sh). Both handlers serve the same tmpfs file",
           "(512 MiB), the same 256 MiB file on the guest's ext4 disk and the same 64 MiB image on the",
           "replica-3 volume (gluster-block profile, so `strict-o-direct on`); every LUN is made by",
           "targetcli with its defaults (`hw_max_sectors` 128: 64 KiB commands) and exported through",
           "tcm_loop; fio runs libaio, direct, 8 s per job. They cannot serve `user:` LUNs at once, so",
           f"each of {rounds(rows)} rounds runs one and then the other, in turn; the tables give the medians.",
           "",
           "Both report a write cache: tcmu-runner always, gluster-tcmu by default (docs/DECISIONS.md,",
           "\"Durability\"), so a write is answered once the file or every brick has it and",
           "SYNCHRONIZE CACHE syncs. The references keep that contract: LIO fileio with `write_back=true`",
           "on another tmpfs file of the same size; fio's gfapi_async engine with `--direct=1` on another",
           "image of the volume. user:ram is the TCMU round trip with no storage behind it.",
           "", "IOPS, medians:", ""]
    out += main_table(rows)
    out += ["", f"![gluster-tcmu and tcmu-runner]({plot_name})", "",
            "The defaults' inputs: the same jobs on gluster-tcmu with the write cache off (`wce=0`: every",
            "write synced on the file or on every brick before GOOD) and, on ext4, without O_DIRECT",
            "(`direct=0`: through the guest's page cache).", ""]
    out += choices_table(rows)
    return "\n".join(out) + "\n"


def plot(sec, path):
    if not sec:
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = sec["rows"]
    series = [("tcmu-runner", "default"), ("gluster-tcmu", "default"), ("gluster-tcmu", "recommended")]
    panels = [b for b in BACKSTORES if b[0] != "ram"]
    fig, axes = plt.subplots(1, len(panels), figsize=(15, 4.5))
    width = 0.8 / (len(series) + 1)
    for ax, (backstore, label, ref) in zip(axes, panels):
        bars = series + ([(ref, "default")] if ref else [])
        for i, (target, setting) in enumerate(bars):
            where = "glfs" if target == "gfapi_async" else ("file" if target == "fileio" else backstore)
            ys = [iops(rows, target, where, setting, j) or 0 for j in JOBS]
            name = target + (", hw_max_sectors=1024" if setting == "recommended" else "")
            ax.bar([x + i * width for x in range(len(JOBS))], ys, width, label=name)
        ax.set_xticks([x + width * (len(bars) - 1) / 2 for x in range(len(JOBS))], JOBS, fontsize=7)
        ax.set_title(label)
        ax.set_ylabel("IOPS (median)")
        ax.legend(fontsize=7)
    fig.suptitle("In the guest (QEMU TCG), targetcli's defaults; see docs/BENCHMARKS.md")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
