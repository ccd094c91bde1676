#!/bin/bash
# Benchmark, not a test: gluster-tcmu beside tcmu-runner 1.5.4 (Debian's source with its glfs
# handler, built into the guest image under /opt/tcmu-runner), in one boot, on the same tmpfs
# file and the same image on the replica-3 volume, each LUN made by targetcli with its defaults
# and exported through tcm_loop, under fio (libaio, direct). Beside them: LIO's own fileio
# (write-back, the same contract as a reported write cache) on a tmpfs file, fio's gfapi_async
# on the same volume (O_DIRECT, which the volume's strict-o-direct makes reach every brick,
# like the LUNs' writes), and a gluster-tcmu user:ram LUN (the TCMU round trip alone).
# Then gluster-tcmu's recommended setting (hw_max_sectors=1024), the write-cache choices
# (wce=0: every write synced) and user:file on the guest's ext4 disk with and without
# O_DIRECT, the inputs of the defaults in docs/DECISIONS.md.
#
# The two handlers cannot serve user: LUNs at the same time (both answer for "file" and
# "glfs"), so each round runs one and then the other, in turn (A B, B A, A B): a slow stretch
# of the emulated machine hits both. Each job runs once per round; benches/regenerate.sh
# --guest-results DIR takes the medians over the rounds. Results: handlers.tsv (a row per run),
# fio-*.json. Passes when every fio run completes without error.
# guest-manual: a benchmark of about half an hour; run it by name
# guest-needs: gluster
# guest-timeout: 3600
set -u -o pipefail
. /share/guest/lib.sh

runtime=8              # seconds per timed job
rounds=3               # runs of each job, the handlers' order alternating
file_size=512M         # the user:file image on tmpfs (/var/tmp/gt holds 1.5 GiB), and fileio's
ext4_size=256M         # the user:file image on the guest's ext4 root disk
glfs_size=64M          # replica 3 under TCG writes at a few MiB/s
ram_size=256M
recommended=(hw_max_sectors=1024) # docs/BENCHMARKS.md, "Recommended hw_max_sectors"
jobs=("randread 4k 32" "randwrite 4k 32" "read 128k 16" "write 128k 16")
write_jobs=("randwrite 4k 32" "write 128k 16")
runner_dir=/opt/tcmu-runner
file_img=$GT_IMG_DIR/bfile.img
fileio_img=$GT_IMG_DIR/bfileio.img
ext4_dir=/var/lib/gt-bench
ext4_img=$ext4_dir/bext4.img
glfs_img=bglfs.img
gfapi_img=bench-gfapi.img
tsv=$GT_RESULTS/handlers.tsv
printf 'target\tbackstore\tsetting\tjob\trw\tbs\tqd\tiops\tmib_s\tlat_ms\terror\tround\n' >"$tsv"

# record TARGET BACKSTORE SETTING JOB JSON ROUND: one handlers.tsv line from a fio result.
record() {
    local figures
    figures=$(gt_fio_figures "$5") || return 1
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${4//-/$'\t'}" "$figures" "$6" >>"$tsv"
}

# run_jobs ROUND TARGET BACKSTORE SETTING JOBLIST FIO-TARGET-ARGS...: each job of the named
# array once, timed; fails the scenario on any fio error.
run_jobs() {
    local round=$1 target=$2 backstore=$3 setting=$4 list=$5 j rw bs qd job json rc
    shift 5
    local -n todo=$list
    for j in "${todo[@]}"; do
        read -r rw bs qd <<<"$j"
        job=$rw-$bs-$qd
        json=$GT_RESULTS/fio-$target-$backstore-$setting-$job-r$round.json
        gt_step "round $round: $target $backstore ($setting): $job"
        fio --name="$job" --rw="$rw" --bs="$bs" --iodepth="$qd" --norandommap --randrepeat=0 \
            --time_based --runtime="$runtime" --output-format=json --output="$json" "$@"
        rc=$?
        gt_fio_summary "$json"
        ((rc == 0)) || gt_fail "fio $job on $target $backstore ($setting) exited $rc"
        grep -q '"error" : 0' "$json" || gt_fail "fio $job on $target $backstore reported an error"
        record "$target" "$backstore" "$setting" "$job" "$json" "$round" || gt_fail "cannot read $json"
    done
}

# lun_dev KIND NAME SIZE CFGSTRING [ATTR=VALUE...]: a targetcli backstore exported through
# tcm_loop; sets DEV to its /dev/sdX.
lun_dev() {
    local kind=$1 name=$2 size=$3 cfg=$4
    shift 4
    gt_tcli "/backstores/$kind" create name="$name" size="$size" cfgstring="$cfg" "$@" ||
        gt_fail "targetcli: create $kind $name (cfgstring $cfg)"
    gt_loop_export "/backstores/$kind/$name"
    DEV=$GT_DEV
    gt_info "$kind $name: $(cat "/sys/block/$(basename "$DEV")/queue/write_cache"), max_sectors_kb $(cat "/sys/block/$(basename "$DEV")/queue/max_sectors_kb")"
}

# lun_jobs ROUND TARGET BACKSTORE SETTING JOBLIST KIND CFGSTRING SIZE [ATTR=VALUE...]: make the
# LUN, run the jobs on it, remove it again.
lun_jobs() {
    local round=$1 target=$2 backstore=$3 setting=$4 list=$5 kind=$6 cfg=$7 size=$8
    shift 8
    lun_dev "$kind" "b$backstore" "$size" "$cfg" "$@"
    run_jobs "$round" "$target" "$backstore" "$setting" "$list" \
        --filename="$DEV" --ioengine=libaio --direct=1 --size=100%
    gt_tcli_batch <<EOF || gt_fail "targetcli: remove $kind b$backstore"
/loopback delete $GT_LOOP_WWN
/backstores/$kind delete b$backstore
EOF
}

runner_start() {
    [[ -x $runner_dir/bin/tcmu-runner ]] ||
        gt_fail "$runner_dir/bin/tcmu-runner missing: tests/guest/build-image.sh builds it into the image"
    gt_step "start tcmu-runner $(cat "$runner_dir/debian-version")"
    mkdir -p "$GT_RESULTS/tcmu-runner-log" /etc/tcmu
    # tcmu-runner exits without its configuration file; 3 is its default log level (info),
    # which gluster-tcmu reads from the same file.
    [[ -f /etc/tcmu/tcmu.conf ]] || echo "log_level = 3" >/etc/tcmu/tcmu.conf
    "$runner_dir/bin/tcmu-runner" --handler-path "$runner_dir/lib/tcmu-runner" \
        --tcmu-log-dir "$GT_RESULTS/tcmu-runner-log" >>"$GT_RESULTS/tcmu-runner.out" 2>&1 &
    RUNNER_PID=$!
    gt_wait 60 "tcmu-runner owning $GT_DBUS_NAME" gt_dbus_has_handler
}

runner_stop() {
    kill "$RUNNER_PID" 2>/dev/null
    wait "$RUNNER_PID" 2>/dev/null
    gt_wait 30 "$GT_DBUS_NAME released" sh -c "! dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:$GT_DBUS_NAME | grep -q 'boolean true'"
}

# The handlers' common LUNs at targetcli's defaults: user:file on tmpfs, user:glfs.
default_luns() {
    local round=$1 target=$2
    lun_jobs "$round" "$target" file default jobs user:file "$file_img" "$file_size"
    lun_jobs "$round" "$target" glfs default jobs user:glfs \
        "$GT_VOLUME@$GT_GLUSTER_HOST/$glfs_img" "$glfs_size"
    lun_jobs "$round" "$target" ext4 default jobs user:file "$ext4_img" "$ext4_size"
}

gluster_tcmu_round() {
    local r=$1
    gt_daemon_start
    default_luns "$r" gluster-tcmu
    lun_jobs "$r" gluster-tcmu ram default jobs user:ram "wce=1" "$ram_size"
    lun_jobs "$r" gluster-tcmu file recommended jobs user:file "$file_img" "$file_size" "${recommended[@]}"
    lun_jobs "$r" gluster-tcmu glfs recommended jobs user:glfs \
        "$GT_VOLUME@$GT_GLUSTER_HOST/$glfs_img" "$glfs_size" "${recommended[@]}"
    lun_jobs "$r" gluster-tcmu file wce0 write_jobs user:file "$file_img;wce=0" "$file_size"
    lun_jobs "$r" gluster-tcmu glfs wce0 write_jobs user:glfs \
        "$GT_VOLUME@$GT_GLUSTER_HOST/$glfs_img;wce=0" "$glfs_size"
    lun_jobs "$r" gluster-tcmu ext4 direct0 jobs user:file "$ext4_img;direct=0" "$ext4_size"
    gt_daemon_stop
}

tcmu_runner_round() {
    runner_start
    default_luns "$1" tcmu-runner
    runner_stop
}

# --- set-up --------------------------------------------------------------------------------
gt_step "fio $(fio --version); tcmu-runner $(cat "$runner_dir/debian-version" 2>/dev/null)"
fio --enghelp 2>&1 | grep -qw gfapi_async || gt_fail "this fio has no gfapi_async engine"
gt_gluster_start && gt_volume_create
mkdir -p "$ext4_dir"
findmnt -no FSTYPE -T "$ext4_dir" | grep -qx ext4 || gt_fail "$ext4_dir is not on ext4"
# Fill every image first, so reads hit data and no run allocates: the tmpfs files with a
# user-space writer, the volume's images through gfapi at exactly the LUN size (tcmu-runner's
# glfs handler refuses an image whose size differs from the LUN's).
for f in "$file_img:$file_size" "$fileio_img:$file_size" "$ext4_img:$ext4_size"; do
    gt_step "fill ${f%%:*}"
    fio --name=fill --rw=write --bs=1m --iodepth=8 --ioengine=libaio --filename="${f%%:*}" \
        --size="${f#*:}" --output="$GT_RESULTS/fill-$(basename "${f%%:*}").txt" ||
        gt_fail "fill ${f%%:*}"
done
for img in "$glfs_img" "$gfapi_img"; do
    gt_step "fill $img on $GT_VOLUME"
    fio --name=fill --rw=write --bs=1m --iodepth=4 --ioengine=gfapi_async --volume="$GT_VOLUME" \
        --brick="$GT_GLUSTER_HOST" --filename="$img" --size="$glfs_size" --direct=1 \
        --output="$GT_RESULTS/fill-$img.txt" || gt_fail "fill $img on $GT_VOLUME"
done
# LIO's fileio, write-back: a reported write cache that SYNCHRONIZE CACHE flushes, the same
# contract as the user: LUNs' default. It stays for the whole run; the handlers come and go.
gt_tcli /backstores/fileio create name=bfileio file_or_dev="$fileio_img" size="$file_size" \
    write_back=true || gt_fail "targetcli: create fileio bfileio"
gt_loop_export /backstores/fileio/bfileio
FILEIO_DEV=$GT_DEV

for ((r = 1; r <= rounds; r++)); do
    run_jobs "$r" fileio file default jobs --filename="$FILEIO_DEV" --ioengine=libaio --direct=1 --size=100%
    run_jobs "$r" gfapi_async glfs default jobs --ioengine=gfapi_async --volume="$GT_VOLUME" \
        --brick="$GT_GLUSTER_HOST" --filename="$gfapi_img" --size="$glfs_size" --direct=1
    if ((r % 2)); then
        gluster_tcmu_round "$r"
        tcmu_runner_round "$r"
    else
        tcmu_runner_round "$r"
        gluster_tcmu_round "$r"
    fi
done

gt_step "results"
cat "$tsv"
gt_step "pass"
