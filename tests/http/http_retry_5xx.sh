# Server errors are retried (SDK rules: >= 500 and 529) and the second
# attempt succeeds: the server sees exactly 1 + 1 requests, the second with
# x-stainless-retry-count: 1. Both providers.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  for f in 503 529 500; do
    ask ask_text "$p" "fault-$f-then-ok" --arg p=retry
    expect_rc 0 "$p $f then ok"
    [ "$out" = '"echo: retry"' ] || fail "$p $f: got $out"
    [ "$(attempts)" = 2 ] || fail "$p $f: $(attempts) requests, expected 2"
    same_json "$(stats retry_counts_by_prompt)" '{"retry": [0, 1]}' ||
      fail "$p $f: retry counts $(stats retry_counts_by_prompt)"
  done
done
exit 0
