# Replies that are broken on the wire fail cleanly (exit 1, a message, no
# crash): a JSON body or SSE data that is cut and unparsable, and a
# non-streaming body shorter than its Content-Length. Both providers,
# streaming and not.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  for mode in "" --no-stream; do
    ask ask_text "$p" fault-malformed $mode
    expect_rc 1 "$p $mode malformed"
    expect_no_out "$p $mode malformed"
    expect_err scribe
  done
  ask ask_text "$p" fault-truncate --no-stream --retries 0
  expect_rc 1 "$p truncated body"
  expect_err scribe
done
exit 0
