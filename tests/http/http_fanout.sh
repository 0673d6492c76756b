# Fan-out over real HTTP asks (the local test server): `limit 8` bounds the
# requests in flight, and a failing branch under a plain barrier cancels
# the asks still in flight — the connections are closed, so the server
# sees nothing in flight afterwards — and the queued ones never start.
. "$TESTDIR/../lib/server.sh"

cat >"$tmp/fan.weft" <<'EOF_W'
role r { model: "openai/slow-100" }

fn main() -> int {
  let t = fanout i in range(40) limit 8 { ask r "item {i}" }
  let replies = barrier t
  len(replies)
}
EOF_W
reset_stats
run "$WEFT" run "$tmp/fan.weft"
expect_rc 0 "40 asks with limit 8"
[ "$out" = 40 ] || fail "40 asks: got $out"
[ "$(attempts)" = 40 ] || fail "40 asks: the server saw $(attempts) requests"
m=$(stats max_in_flight)
[ "$m" -le 8 ] || fail "limit 8: the server saw $m requests in flight at once"
[ "$m" -gt 1 ] || fail "limit 8: the asks did not overlap (max_in_flight $m)"

# Branch 0 fails after 300 ms while branches 1-3 wait on a server that
# never answers; branches 4 and 5 are queued behind `limit 4`.
cat >"$tmp/cancel.weft" <<'EOF_W'
role r { model: "openai/fault-stall" }

fn main() -> list[string] {
  let t = fanout i in range(6) limit 4 {
    if i == 0 {
      sleep(300ms)
      fail("stop")
    }
    ask r "stalled {i}"
  }
  barrier t
}
EOF_W
reset_stats
t0=$(now_ms)
run "$WEFT" run "$tmp/cancel.weft" --retries 0 --timeout 30s
t1=$(now_ms)
expect_rc 1 "a failing branch"
expect_no_crash "a failing branch"
expect_err "branch 0 failed: stop"
[ $((t1 - t0)) -lt 5000 ] || fail "cancelling waited for the stalled asks: $((t1 - t0)) ms"
[ "$(attempts)" = 3 ] || fail "expected 3 requests (the queued branches never start), got $(attempts)"
# The server notices the closed connections asynchronously: allow it 2 s.
i=0
while [ "$(stats in_flight)" != 0 ]; do
  i=$((i + 1))
  [ "$i" -le 40 ] || fail "cancelled asks are still in flight at the server: $(stats in_flight)"
  sleep 0.05
done
exit 0
