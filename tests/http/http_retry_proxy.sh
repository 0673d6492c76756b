# Retried, then successful: a proxy's HTML 502 page, llama.cpp's 503
# {"error":{"code":503,...}} while a model loads, and a 400 that says
# x-should-retry: true. Exactly 2 requests each. Both providers.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  for f in html502 llamacpp503 400retry; do
    ask ask_text "$p" "fault-$f-then-ok" --arg p=retry
    expect_rc 0 "$p $f then ok"
    [ "$out" = '"echo: retry"' ] || fail "$p $f: got $out"
    [ "$(attempts)" = 2 ] || fail "$p $f: $(attempts) requests, expected 2"
    same_json "$(stats retry_counts_by_prompt)" '{"retry": [0, 1]}' ||
      fail "$p $f: retry counts $(stats retry_counts_by_prompt)"
  done
done
exit 0
