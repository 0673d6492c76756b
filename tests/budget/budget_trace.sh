# Budgets in the trace: a budget event per charge and one naming the
# exhaustion; no request beyond the limit is ever admitted (the asks in
# flight when the limit is reached finish, the queued ones never start).
# Also: the --budget-* flags' usage errors.
. "$TESTDIR/../lib/common.sh"
PROG="$TESTDIR/fanout_cancel.weft"

run "$WEFT" run "$PROG" --provider mock --trace "$tmp/t.jsonl"
expect_rc 0 "budget block with else"
[ "$out" = "$(printf '7\ntrue\n3')" ] || fail "expected the body's value 3 after 7 refusals, got $out"
T="$tmp/t.jsonl"
grep -q '"ev":"budget","addr":"main/budget#1@11","calls":1,' "$T" || fail "no charge event: $(grep budget "$T")"
grep -q '"ev":"budget","addr":"main/budget#1@11","calls":3,.*"exhausted":"budget exhausted: calls 3/3"' "$T" ||
  fail "no exhaustion event: $(grep budget "$T")"
sent=$(grep '"ev":"ask"' "$T" | grep -c '"status":"ok"')
[ "$sent" = 3 ] || fail "expected 3 answered asks, got $sent"
# every request counts against calls: 3 admitted in all (the 3rd, in
# flight when the 4th was refused, finishes), and no budget event ever
# shows a 4th
total=$(grep '"ev":"ask"' "$T" | sed 's/.*"attempts":\([0-9]*\).*/\1/' | awk '{s += $1} END {print s}')
[ "$total" = 3 ] || fail "expected 3 requests admitted in all, got $total: $(grep '"ev":"ask"' "$T")"
! grep -q '"ev":"budget","addr":"main/budget#1@11","calls":4' "$T" || fail "a 4th call was admitted: $(grep budget "$T")"
! grep -q '"addr":"main/budget#1@11\[else\]"' "$T" || fail "the else branch ran: no budget failure escaped the body"

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
