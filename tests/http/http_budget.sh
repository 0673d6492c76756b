# A global token budget over real HTTP asks (the local test server): the
# first reply's usage exhausts --budget-tokens, so the asks still in flight
# (a server that never answers) are aborted — the connections closed — and
# the queued one is never sent; the run fails with the budget error.
# Every ask reserves its estimated input and max_tokens at admission, so
# the roles' max_tokens keep the four reservations (about 100 tokens)
# within the budget; the reply reports 1000 input tokens, far above what
# was estimated, and that usage is what is charged.
. "$TESTDIR/../lib/server.sh"

cat >"$tmp/bud.weft" <<'EOF_W'
role fast { model: "openai/usage-1000", max_tokens: 20 }
role stuck { model: "openai/fault-stall", max_tokens: 20 }

fn main() -> list[string] {
  let t = fanout i in range(5) limit 4 {
    if i == 0 {
      sleep(200ms)
      ask fast "a prompt long enough to use some tokens"
    } else {
      ask stuck "stalled {i}"
    }
  }
  barrier t
}
EOF_W
reset_stats
t0=$(now_ms)
run "$WEFT" run "$tmp/bud.weft" --retries 0 --timeout 30s --budget-tokens 500
t1=$(now_ms)
expect_rc 1 "token budget exhausted"
expect_no_crash "token budget exhausted"
expect_err "budget exhausted: tokens 1011/500"
[ $((t1 - t0)) -lt 5000 ] || fail "exhaustion waited for the stalled asks: $((t1 - t0)) ms"
[ "$(attempts)" = 4 ] || fail "expected 4 requests (the queued branch never starts), got $(attempts); $(stats); $err"
i=0
while [ "$(stats in_flight)" != 0 ]; do
  i=$((i + 1))
  [ "$i" -le 40 ] || fail "aborted asks are still in flight at the server: $(stats in_flight)"
  sleep 0.05
done
exit 0
