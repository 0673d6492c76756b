# 429 retries honour retry-after: `retry-after: 1` waits >= 1 s;
# retry-after-ms (50) wins over retry-after (30 s); a retry-after above
# 120 s means no retry at all (the OpenAI SDK's rule, applied to both
# providers). Both providers.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  t0=$(now_ms)
  ask ask_text "$p" fault-429-then-ok
  t1=$(now_ms)
  expect_rc 0 "$p 429 then ok"
  [ "$out" = '"echo: hello"' ] || fail "$p 429: got $out"
  [ "$(attempts)" = 2 ] || fail "$p 429: $(attempts) requests, expected 2"
  [ $((t1 - t0)) -ge 1000 ] || fail "$p 429 with retry-after: 1 retried after $((t1 - t0)) ms"
  [ $((t1 - t0)) -lt 4000 ] || fail "$p 429 with retry-after: 1 took $((t1 - t0)) ms"

  t0=$(now_ms)
  ask ask_text "$p" fault-429ms-then-ok
  t1=$(now_ms)
  expect_rc 0 "$p 429ms then ok"
  [ "$(attempts)" = 2 ] || fail "$p 429ms: $(attempts) requests, expected 2"
  [ $((t1 - t0)) -lt 2500 ] || fail "$p retry-after-ms: 50 ignored: took $((t1 - t0)) ms"

  ask ask_text "$p" fault-429long-then-ok
  expect_rc 1 "$p 429 with retry-after 300"
  expect_no_crash "$p 429long"
  [ "$(attempts)" = 1 ] || fail "$p retry-after 300: $(attempts) requests, expected no retry"
  expect_err "429"
done
exit 0
