# A runtime error prints `error: MESSAGE` and one `at FN (FILE:LINE:COL)` per frame.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

run "$WEFT" run boom.weft
expect_rc 1 "runtime error"
expect_no_out "runtime error"
first=$(printf '%s\n' "$err" | grep -v '^weft: run [0-9]* (journal ' | head -n 1)
[ "$first" = "error: boom 2" ] || fail "first line: $first"
printf '%s\n' "$err" | grep -Eq '^  at inner \(.*boom\.weft:2:[0-9]+\)$' || fail "no frame for inner: $err"
printf '%s\n' "$err" | grep -Eq '^  at middle \(.*boom\.weft:6:[0-9]+\)$' || fail "no frame for middle: $err"
printf '%s\n' "$err" | grep -Eq '^  at main \(.*boom\.weft:10:[0-9]+\)$' || fail "no frame for main: $err"
# innermost frame first
order=$(printf '%s\n' "$err" | sed -n 's/^  at \([a-z]*\) .*/\1/p' | tr '\n' ' ')
[ "$order" = "inner middle main " ] || fail "frame order: $order"
exit 0
