# Slow replies within the timeout succeed (slow-N, jitter-MIN-MAX); one
# slower than --timeout fails cleanly.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  t0=$(now_ms)
  ask ask_text "$p" slow-300 --timeout 2s
  t1=$(now_ms)
  expect_rc 0 "$p slow-300"
  [ "$out" = '"echo: hello"' ] || fail "$p slow-300: got $out"
  [ $((t1 - t0)) -ge 300 ] || fail "$p slow-300 took only $((t1 - t0)) ms"

  ask ask_text "$p" jitter-10-60 --no-stream
  expect_rc 0 "$p jitter"

  ask ask_text "$p" slow-2000 --timeout 500ms --retries 0
  expect_rc 1 "$p slower than --timeout"
  expect_err "time"
done
exit 0
