# A timeout is retried like a connection error: with the default 2 retries
# a stalled server sees 3 requests, and the ask still ends cleanly.
. "$TESTDIR/../lib/server.sh"

t0=$(now_ms)
ask ask_text openai fault-stall --timeout 500ms --no-stream
t1=$(now_ms)
expect_rc 1 "stall with retries"
expect_err "time"
[ "$(attempts)" = 3 ] || fail "stall with retries: $(attempts) requests, expected 3"
[ $((t1 - t0)) -lt 5000 ] || fail "stall with retries: took $((t1 - t0)) ms"
exit 0
