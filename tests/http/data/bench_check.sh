# bench_check.sh — builds bench/engine/engine_bench and defines `check` for
# the http_concurrency*.sh tests (sourced after tests/lib/server.sh).
build=$(cd "$(dirname "$WEFT")" && pwd)
"$TESTDIR/../../bench/engine/build.sh" "$build" "$tmp/engine_bench" || fail "cannot build engine_bench"

# check PROVIDER MAXC MODEL [--no-stream]: 300 asks at once with
# --max-concurrency MAXC, every reply checked; prints the server's
# max_in_flight.
check() {
  reset_stats
  run "$tmp/engine_bench" --check --n 300 --provider "$1" --max-concurrency "$2" --model "$3" ${4:-}
  expect_rc 0 "$1 $2 ${4:-}: $out"
  contains "$out" "ok=300 failed=0" || fail "$1 $2 ${4:-}: $out"
  [ "$(attempts)" = 300 ] || fail "$1 $2 ${4:-}: $(attempts) requests"
  stats max_in_flight
}
