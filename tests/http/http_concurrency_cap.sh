# --max-concurrency 50 holds: 300 asks, all answered correctly, and the
# server never has more than 50 in flight (and more than one at once).
# Both providers, streaming and not.
. "$TESTDIR/../lib/server.sh"
. "$HTTP_DATA/bench_check.sh"

m=$(check openai 50 slow-150)
[ "$m" -le 50 ] && [ "$m" -gt 1 ] || fail "openai --max-concurrency 50: server max_in_flight $m"
m=$(check anthropic 50 slow-150 --no-stream)
[ "$m" -le 50 ] && [ "$m" -gt 1 ] || fail "anthropic --max-concurrency 50: server max_in_flight $m"
exit 0
