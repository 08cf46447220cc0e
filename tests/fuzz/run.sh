#!/bin/sh
# Run libFuzzer targets: tests/fuzz/run.sh SECONDS WORK TARGET...
# Each runs for SECONDS from its seed corpus tests/fuzz/corpus/<name>/ plus
# WORK/corpus/<name>/ (new inputs go there; logs in WORK/<name>.log), with a 10 s hang limit.
# Prints one line per target (executions, coverage, corpus) and fails on the
# first crash, hang, leak or sanitizer report (the input is kept in
# WORK/artifacts/). Run from the top of the source tree.
set -u
secs=$1
dir=$2
shift 2
mkdir -p "$dir/artifacts"
status=0
for bin in "$@"; do
    name=$(basename "$bin")
    name=${name#fuzz_}
    work="$dir/corpus/$name"
    log="$dir/$name.log"
    mkdir -p "$work"
    # -close_fd_mask=3: the targets' own stdout (the CLI's --help) is noise
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -close_fd_mask=3 -artifact_prefix="$dir/artifacts/$name-" \
        "$work" "tests/fuzz/corpus/$name" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -ao 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -n 1)
    printf 'fuzz %-12s %4ss  %10s execs  %s\n' "$name" "$secs" "${execs:-?}" "${cov:-?}"
    if [ "$rc" -ne 0 ]; then
        echo "fuzz $name: FAILED (exit $rc); log $log:"
        grep -a -A40 -m1 'ERROR\|==ERROR\|runtime error\|deadly signal\|timeout' "$log" | head -60
        status=1
    fi
done
exit $status
