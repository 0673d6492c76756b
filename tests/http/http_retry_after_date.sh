# retry-after given as an HTTP date (2 s ahead, whole seconds) is honoured:
# the retry comes after most of a second at least, not after the 0.5 s
# backoff. Both providers.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  t0=$(now_ms)
  ask ask_text "$p" fault-429date-then-ok
  t1=$(now_ms)
  expect_rc 0 "$p 429date then ok"
  [ "$out" = '"echo: hello"' ] || fail "$p 429date: got $out"
  [ "$(attempts)" = 2 ] || fail "$p 429date: $(attempts) requests, expected 2"
  [ $((t1 - t0)) -ge 700 ] || fail "$p HTTP-date retry-after ignored: took $((t1 - t0)) ms"
  [ $((t1 - t0)) -lt 4000 ] || fail "$p HTTP-date retry-after: took $((t1 - t0)) ms"
done
exit 0
