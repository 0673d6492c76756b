# Role values and what a program can reach, before and during a run:
# --cost bounds an ask by a role value with the worst role item and its own
# constant max_tokens; the five-model fan-out sends each branch to its own
# model (the trace's ask events) and the trace records per-call settings.
. "$TESTDIR/../lib/common.sh"
DATA="$TESTDIR/data"

run "$WEFT" check --cost "$DATA/cost_values.weft"
expect_rc 0 "cost"
[ "$out" = "main: at most 4 + 3*len(xs) model calls, at most 6150 + 9000*len(xs) output tokens" ] ||
  fail "cost: got '$out'"

cd "$tmp" || exit 1
run "$WEFT" run --no-journal --trace "$tmp/t.jsonl" "$TESTDIR/role_fanout_five.weft"
expect_rc 0 "fan-out run"
for m in a b c d e; do
  grep '"ev":"ask"' "$tmp/t.jsonl" | grep -q "\"model\":\"mock/$m\"" || fail "no ask to mock/$m: $(cat "$tmp/t.jsonl")"
done
[ "$(grep -c '"ev":"ask"' "$tmp/t.jsonl")" = 5 ] || fail "not five asks"

cat >"$tmp/w.weft" <<'WEFT'
role r { model: "mock/r" }
fn main() {
  print(ask r with { temperature: 0.3, stop: ["END"] } "hi")
}
WEFT
run "$WEFT" run --no-journal --trace "$tmp/t2.jsonl" "$tmp/w.weft"
expect_rc 0 "settings run"
grep '"ev":"ask"' "$tmp/t2.jsonl" | grep -qF '"with":"{\"temperature\":0.3,\"stop\":[\"END\"]}"' ||
  fail "the trace lacks the settings: $(cat "$tmp/t2.jsonl")"
exit 0
