# A call that keeps failing with a retryable status gives up after the
# default 2 retries (3 requests) with a message naming the role, the
# provider, the model, the HTTP status and the provider's message;
# --retries 0 makes it one request.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  ask ask_text "$p" fault-503 --json
  expect_rc 1 "$p 503 forever"
  [ "$(attempts)" = 3 ] || fail "$p 503: $(attempts) requests, expected 3"
  [ "$(jstat retries)/$(jstat attempts)/$(jstat failed)" = 2/3/1 ] ||
    fail "$p 503: weft counted retries/attempts/failed $(jstat retries)/$(jstat attempts)/$(jstat failed)"
  for want in scribe "$p" fault-503 503 "The server is overloaded"; do
    expect_err "$want"
  done

  ask ask_text "$p" fault-529 --retries 0
  expect_rc 1 "$p 529 --retries 0"
  [ "$(attempts)" = 1 ] || fail "$p --retries 0: $(attempts) requests"
  expect_err "529"
  expect_err "Overloaded"
done
exit 0
