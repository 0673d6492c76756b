# A server that accepts and never answers: --timeout 1s ends the ask with a
# clean timeout error after one attempt (--retries 0), within a few seconds.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  t0=$(now_ms)
  ask ask_text "$p" fault-stall --timeout 1s --retries 0
  t1=$(now_ms)
  expect_rc 1 "$p stall"
  expect_no_crash "$p stall"
  expect_no_out "$p stall"
  expect_err "time"
  expect_err scribe
  [ "$(attempts)" = 1 ] || fail "$p stall: $(attempts) requests"
  [ $((t1 - t0)) -ge 900 ] || fail "$p stall: gave up after $((t1 - t0)) ms"
  [ $((t1 - t0)) -lt 3000 ] || fail "$p stall: took $((t1 - t0)) ms"
done
exit 0
