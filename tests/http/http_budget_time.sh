# --budget-time over real HTTP asks (the local test server) that never
# answer: at the deadline the run stops, the asks in flight are aborted
# (connections closed) and the run fails with the budget error, long before
# the request timeout.
. "$TESTDIR/../lib/server.sh"

cat >"$tmp/bud.weft" <<'EOF_W'
role stuck { model: "openai/fault-stall" }

fn main() -> list[string] {
  let t = fanout i in range(3) { ask stuck "stalled {i}" }
  barrier t
}
EOF_W
reset_stats
t0=$(now_ms)
run "$WEFT" run "$tmp/bud.weft" --retries 0 --timeout 30s --budget-time 300ms
t1=$(now_ms)
expect_rc 1 "time budget exhausted"
expect_no_crash "time budget exhausted"
expect_err "budget exhausted: time"
[ $((t1 - t0)) -lt 5000 ] || fail "the deadline waited for the stalled asks: $((t1 - t0)) ms"
i=0
while [ "$(stats in_flight)" != 0 ]; do
  i=$((i + 1))
  [ "$i" -le 40 ] || fail "aborted asks are still in flight at the server: $(stats in_flight)"
  sleep 0.05
done
exit 0
