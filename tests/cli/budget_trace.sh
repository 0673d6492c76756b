# Budgets in the trace: a budget event per charge and one naming the
# exhaustion; after it no further ask is sent (the queued branch's ask is
# cancelled with 0 attempts). Also: the --budget-* flags' usage errors.
. "$TESTDIR/data/common.sh"
PROG="$TESTDIR/../budget/fanout_cancel.weft"

run "$WEFT" run "$PROG" --provider mock --trace "$tmp/t.jsonl"
expect_rc 0 "budget block with else"
[ "$out" = "-1" ] || fail "expected the else value -1, got $out"
T="$tmp/t.jsonl"
grep -q '"ev":"budget","addr":"main/budget#1@9","calls":1,' "$T" || fail "no charge event: $(grep budget "$T")"
grep -q '"ev":"budget","addr":"main/budget#1@9","calls":3,.*"exhausted":"budget exhausted: calls 3/3"' "$T" ||
  fail "no exhaustion event: $(grep budget "$T")"
sent=$(grep '"ev":"ask"' "$T" | grep -c '"status":"ok"')
[ "$sent" = 2 ] || fail "expected 2 answered asks, got $sent"
# nothing is sent after the exhaustion event
after=$(sed -n '/"exhausted"/,$p' "$T" | grep '"ev":"ask"' | grep -vc '"attempts":0')
[ "$after" = 0 ] || fail "asks sent after exhaustion: $(sed -n '/"exhausted"/,$p' "$T" | grep '"ev":"ask"')"
grep -q '"addr":"main/budget#1@9\[else\]"' "$T" || fail "the else branch has no fiber"

# global flags: bad values are usage errors (exit 2)
echo 'fn main() { print(1) }' >"$tmp/p.weft"
run "$WEFT" run "$tmp/p.weft" --budget-usd abc
expect_rc 2 "--budget-usd abc"
expect_err "--budget-usd needs an amount"
run "$WEFT" run "$tmp/p.weft" --budget-calls -1
expect_rc 2 "--budget-calls -1"
run "$WEFT" run "$tmp/p.weft" --budget-time 0s
expect_rc 2 "--budget-time 0s"
run "$WEFT" run "$tmp/p.weft" --budget-calls 0 --budget-usd 0.5 --budget-tokens 10 --budget-time 1m
expect_rc 0 "a program without asks under a zero budget"
exit 0
