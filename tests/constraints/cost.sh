# --cost: an upper range bound bounds a value wherever it comes from: a
# fan-out over `ask … -> list[T](..5)` runs at most 5 branches (without the
# range it is unbounded), and a ranged input of main bounds by its range
# rather than by a variable.
. "$TESTDIR/../lib/common.sh"
cd "$TESTDIR/data" || exit 1

run "$WEFT" check --cost cost_fanout.weft
expect_rc 0 "fan-out"
# the typed ask: 1 + 2 repairs; then 5 branches of one text ask each
[ "$out" = "main: at most 8 model calls, at most 800 output tokens" ] || fail "fan-out: $out"
sed 's/list\[Topic\](..5)/list[Topic]/' cost_fanout.weft >"$tmp/open.weft"
run "$WEFT" check --cost "$tmp/open.weft"
contains "$out$err" "unbounded model calls" || fail "without the range: $out $err"
run "$WEFT" check --cost cost_input.weft
expect_rc 0 "inputs"
[ "$out" = "main: at most 3 model calls, at most 30 output tokens" ] || fail "inputs: $out"
exit 0
