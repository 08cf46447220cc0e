#!/bin/sh
# Run every benchmark program of the release build and print one table.
# Called by `make bench` with BUILD set to the release build folder.
set -u
: "${BUILD:=build/release}"
echo "cgrad benchmarks — $(date -u '+%Y-%m-%d %H:%M UTC'), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
echo
echo "| metric | value | unit | note |"
echo "|---|---|---|---|"
status=0
# KANN, a peer in bench_threads' run, when its epoch program was built into
# the build folder (bench/README.md, "Peers in the same run"); KANN_EPOCH
# set by the caller wins.
if [ -z "${KANN_EPOCH:-}" ] && [ -x "$BUILD/bench/kann_epoch" ]; then
    KANN_EPOCH=$BUILD/bench/kann_epoch
    export KANN_EPOCH
fi
for b in "$BUILD"/bench/bench_*; do
    [ -x "$b" ] || continue
    "$b" || { echo "| $(basename "$b") | FAILED | | exit $? |"; status=1; }
done
# The README's embedding loop in two threads at once, in a process of its
# own: nothing may have chosen OpenBLAS's thread count before the library.
if [ -x "$BUILD/bench/bench_train" ]; then
    "$BUILD/bench/bench_train" embed || { echo "| bench_train embed | FAILED | | |"; status=1; }
fi
# Instructions per tiny step, counted by callgrind: repeatable whatever the
# host is doing. Two runs that differ by 10,000 steps, so that start-up cancels.
# OpenBLAS at one thread: otherwise its idle threads spin for a time measured
# in cycles after start-up, and the instructions they spin through vary with
# how fast valgrind runs (188.4M to 189.1M for the same 11,000 steps).
if command -v valgrind >/dev/null 2>&1 && [ -x "$BUILD/bench/bench_train" ]; then
    count() {
        OPENBLAS_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
            "$BUILD/bench/bench_train" steps "$1" 2>&1 |
            sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
    }
    short=$(count 1000) long=$(count 11000)
    if [ -n "$short" ] && [ -n "$long" ]; then
        echo "| tiny step instructions | $(( (long - short) / 10000 )) | instructions | callgrind, (I(11000 steps) - I(1000 steps)) / 10000; the same in every run |"
    fi
fi
# PyTorch on the same task, at the configuration the issue calls its best
# (its own pool at 1 thread, OpenBLAS at 2), when Debian's python3-torch is
# there (`scripts/deps.sh check` installs it).
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/torch_epoch.py 1 || status=1
fi
exit $status
