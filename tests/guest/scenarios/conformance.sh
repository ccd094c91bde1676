#!/bin/bash
# SCSI conformance with libiscsi's iscsi-test-cu (--dataloss -t SCSI, the SBC/SPC suites) over
# iSCSI on 127.0.0.1. Always measures LIO fileio as the baseline in the same run (or reuses the
# lio-fileio-conformance results of this run); for any other backstore, every test that fails on
# it but not on fileio fails the scenario. Per-test results: $GT_RESULTS/<kind>.tsv
# (test<TAB>passed|failed|skipped), differences in $GT_RESULTS/<kind>.regressions.tsv.
#   conformance.sh [BACKSTORE...]   default: user:file user:ram; fileio only measures the baseline
# guest-timeout: 1500
set -u
. /share/guest/lib.sh
kinds=("$@")
(($# > 0)) || kinds=(user:file user:ram)

# run_cu KIND [keep]: export a fresh 128 MiB LUN of KIND, run the suite, write
# $GT_RESULTS/KIND.tsv; with "keep" the LUN stays exported (drop_lun removes it).
run_cu() {
    local kind=$1 tag=${1//:/-} iqn=iqn.2025-01.org.gluster-tcmu:conformance-${1//:/-}
    gt_prepare_backstore "$kind"
    gt_backstore_create "$kind" "conf-$tag" 128M
    gt_iscsi_export "$GT_BS" "$iqn" open
    gt_step "iscsi-test-cu --dataloss -t SCSI on $kind"
    local t=$(date +%s)
    timeout 900 iscsi-test-cu --dataloss -t SCSI "iscsi://127.0.0.1/$iqn/0" >"$GT_RESULTS/$tag.out" 2>&1
    gt_info "iscsi-test-cu exited $? after $(($(date +%s) - t))s"
    python3 /share/guest/scenarios/cu-parse.py "$GT_RESULTS/$tag.out" >"$GT_RESULTS/$tag.tsv" ||
        gt_fail "could not parse iscsi-test-cu output ($GT_RESULTS/$tag.out)"
    gt_info "$kind: $(cut -f2 "$GT_RESULTS/$tag.tsv" | sort | uniq -c | tr '\n' ' ')"
    (($(wc -l <"$GT_RESULTS/$tag.tsv") >= 100)) || gt_fail "only $(wc -l <"$GT_RESULTS/$tag.tsv") tests ran on $kind"
    [[ ${2:-} == keep ]] || drop_lun "$kind"
}

# drop_lun KIND: remove the export and the backstore run_cu made.
drop_lun() {
    local iqn=iqn.2025-01.org.gluster-tcmu:conformance-${1//:/-}
    gt_tcli_batch <<EOT >/dev/null
/iscsi delete $iqn
$(dirname "$GT_BS") delete $(basename "$GT_BS")
EOT
}

# Tests whose commands and state LIO's target core handles itself for a TCMU device, so
# gluster-tcmu never sees them; a failure there is the kernel's and is reported as such
# (KIND.kernel.tsv), not as a regression of the handler.
#   Reserve6.Logout: RESERVE(6)/RELEASE(6) are emulated by passthrough_parse_cdb, and the
#     reservation is dropped in transport_deregister_session, after the iSCSI logout response;
#     the test reserves from a second initiator right after the first one logs out and
#     races that teardown (it failed on fileio too in earlier runs).
kernel_handled=(Reserve6.Logout)

# retry_regressions KIND: runs each test of KIND.regressions.tsv again, alone, on the same
# LUN. A test that passes now is moved to KIND.flaky.tsv: some tests exercise the kernel's own
# reservation handling and fail now and then on fileio too (e.g. Reserve6.Logout).
retry_regressions() {
    local kind=$1 tag=${1//:/-} t r iqn=iqn.2025-01.org.gluster-tcmu:conformance-${1//:/-}
    : >"$GT_RESULTS/$tag.flaky.tsv"
    : >"$GT_RESULTS/$tag.kernel.tsv"
    : >"$GT_RESULTS/$tag.still.tsv"
    while IFS=$'\t' read -r t _; do
        [[ -n $t ]] || continue
        timeout 300 iscsi-test-cu --dataloss -t "SCSI.$t" "iscsi://127.0.0.1/$iqn/0" \
            >"$GT_RESULTS/$tag.retry-$t.out" 2>&1
        r=$(python3 /share/guest/scenarios/cu-parse.py "$GT_RESULTS/$tag.retry-$t.out" | awk -F'\t' -v t="$t" '$1 == t { print $2 }')
        gt_info "retry of $t on $kind: ${r:-not run}"
        if [[ $r == passed ]]; then
            printf '%s\tpassed on retry\n' "$t" >>"$GT_RESULTS/$tag.flaky.tsv"
        elif [[ " ${kernel_handled[*]} " == *" $t "* ]]; then
            printf '%s\tfailed in the kernel-handled path\n' "$t" >>"$GT_RESULTS/$tag.kernel.tsv"
        else
            printf '%s\tfailed\n' "$t" >>"$GT_RESULTS/$tag.still.tsv"
        fi
    done <"$GT_RESULTS/$tag.regressions.tsv"
    mv "$GT_RESULTS/$tag.still.tsv" "$GT_RESULTS/$tag.regressions.tsv"
}

# The handler first: no point measuring the baseline when the backstore cannot be served.
[[ ${kinds[*]} == fileio ]] || gt_prepare_backstore "${kinds[0]}"
base=$GT_RESULTS/fileio.tsv
shared=/share/results/lio-fileio-conformance/fileio.tsv
if [[ ${kinds[*]} != fileio && -s $shared && $(cat /share/results/lio-fileio-conformance/status) == pass ]]; then
    gt_step "fileio baseline from lio-fileio-conformance"
    cp "$shared" "$base"
else
    run_cu fileio
fi
gt_step "fileio baseline (for docs/CONFORMANCE.md):"
sed 's/^/    /' "$base"

failed=()
for kind in "${kinds[@]}"; do
    [[ $kind != fileio ]] || continue
    tag=${kind//:/-}
    run_cu "$kind" keep
    gt_step "tests that fail on $kind but not on fileio:"
    awk -F'\t' 'NR == FNR { if ($2 != "failed") ok[$1] = 1; next } $2 == "failed" && ($1 in ok)' \
        "$base" "$GT_RESULTS/$tag.tsv" >"$GT_RESULTS/$tag.regressions.tsv"
    sed 's/^/    /' "$GT_RESULTS/$tag.regressions.tsv"
    retry_regressions "$kind"
    drop_lun "$kind"
    gt_step "failing in LIO's own handling on $kind (not counted):"
    sed 's/^/    /' "$GT_RESULTS/$tag.kernel.tsv"
    gt_step "still failing after a retry on $kind:"
    sed 's/^/    /' "$GT_RESULTS/$tag.regressions.tsv"
    n=$(wc -l <"$GT_RESULTS/$tag.regressions.tsv")
    ((n == 0)) || failed+=("$n on $kind: $(cut -f1 "$GT_RESULTS/$tag.regressions.tsv" | head -8 | tr '\n' ' ')...")
done
((${#failed[@]} == 0)) || gt_fail "conformance tests fail on gluster-tcmu but not on fileio: ${failed[*]}"
gt_step "pass"
