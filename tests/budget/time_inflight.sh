# A time limit aborts the model calls in flight under it at its deadline
# (their connections closed, long before the request timeout), each failing
# with kind budget; a tolerant barrier keeps the reply that came in time and
# the block's value is the body's. The same refusal escaping the body takes
# the else.
. "$TESTDIR/../lib/server.sh"

cat >"$tmp/t.weft" <<'EOF_W'
role fast { model: "openai/usage-10", max_tokens: 20 }
role stuck { model: "openai/fault-stall", max_tokens: 20 }

fn main() {
  let v = budget { time: 400ms } {
    let j = barrier fanout i in range(3) {
      if i == 0 { ask fast "quick" } else { ask stuck "stalled {i}" }
    } tolerate 100%
    print(len(j.ok))
    print(all(j.failed, fn(e) => e.kind == "budget"))
    "kept {len(j.ok)}"
  } else {
    "else"
  }
  print(v)
  let w = budget { time: 300ms } { ask stuck "alone" } else { "timed out" }
  print(w)
}
EOF_W
reset_stats
t0=$(now_ms)
run "$WEFT" run "$tmp/t.weft" --retries 0 --timeout 30s
t1=$(now_ms)
expect_rc 0 "time budget with partial work"
expect_no_crash "time budget with partial work"
[ "$out" = "$(printf '1\ntrue\nkept 1\ntimed out')" ] || fail "unexpected output: $out"
[ $((t1 - t0)) -lt 5000 ] || fail "the deadline waited for the stalled asks: $((t1 - t0)) ms"
i=0
while [ "$(stats in_flight)" != 0 ]; do
  i=$((i + 1))
  [ "$i" -le 40 ] || fail "aborted asks are still in flight at the server: $(stats in_flight)"
  sleep 0.05
done
exit 0
