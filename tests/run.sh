#!/bin/sh
# Run cmocka test programs, show their output, and close with one line that
# counts test cases over all programs: "tests: N passed, N failed, N skipped"
# and, under it, why each skipped test was skipped: the reason a test gives
# with cg_test_skipping() (a line "cg_test: skipped: REASON" before cmocka's
# "[  SKIPPED ] name"), counted per program and reason; a skip without one
# says so. Exits non-zero if any test failed or any program died before
# reporting. Run from the top of the source tree (fixtures are under
# tests/data/).
passed=0
failed=0
skipped=0
bad=""
log=$(mktemp)
why=$(mktemp)
trap 'rm -f "$log" "$why"' EXIT
for t in "$@"; do
    "$t" >"$log" 2>&1
    rc=$?
    cat "$log"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    skipped=$((skipped + ${s:-0}))
    name=${t##*/}
    given=$(sed -n 's/^cg_test: skipped: //p' "$log" | wc -l)
    sed -n "s/^cg_test: skipped: /$name: /p" "$log" >>"$why"
    n=$given
    while [ "$n" -lt "${s:-0}" ]; do
        echo "$name: no reason given" >>"$why"
        n=$((n + 1))
    done
    if [ "$rc" -ne 0 ] || [ -z "$p" ]; then
        bad="$bad $t"
        [ -z "$f" ] && failed=$((failed + 1))
    fi
done
[ -n "$bad" ] && echo "failing programs:$bad"
echo "tests: $passed passed, $failed failed, $skipped skipped"
# one line per program and reason: "  2 x test_crash: ..." (the float and
# double builds' programs share a name)
sort "$why" | uniq -c | sed 's/^ *\([0-9]*\) /  skipped \1 x /'
[ -z "$bad" ]
