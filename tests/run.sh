#!/bin/sh
# Run cmocka test programs, show their output, and close with one line that
# counts test cases over all programs: "tests: N passed, N failed".
# Exits non-zero if any test failed or any program died before reporting.
# Run from the top of the source tree (fixtures are under tests/data/).
passed=0
failed=0
bad=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$@"; do
    "$t" >"$log" 2>&1
    rc=$?
    cat "$log"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ "$rc" -ne 0 ] || [ -z "$p" ]; then
        bad="$bad $t"
        [ -z "$f" ] && failed=$((failed + 1))
    fi
done
[ -n "$bad" ] && echo "failing programs:$bad"
echo "tests: $passed passed, $failed failed"
[ -z "$bad" ]
