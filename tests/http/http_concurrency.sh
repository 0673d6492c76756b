# Many asks at once through one engine (fan-out does not exist in the
# language yet, so bench/engine/engine_bench.c spawns the fibers directly):
# 300 asks each get their own reply, and the server sees all 300 in flight
# at once when --max-concurrency allows it. Both providers, streaming and not.
. "$TESTDIR/../lib/server.sh"
. "$HTTP_DATA/bench_check.sh"

m=$(check anthropic 300 slow-1000)
[ "$m" = 300 ] || fail "anthropic stream: server max_in_flight $m, expected 300"
m=$(check openai 300 slow-1000 --no-stream)
[ "$m" = 300 ] || fail "openai no-stream: server max_in_flight $m, expected 300"
exit 0
