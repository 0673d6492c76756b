# A connection reset (TCP RST, no response at all) is retried like the
# SDKs retry connection errors, streaming and not. Both providers.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  for mode in "" --no-stream; do
    ask ask_text "$p" fault-reset-then-ok $mode
    expect_rc 0 "$p $mode reset then ok"
    [ "$out" = '"echo: hello"' ] || fail "$p reset: got $out"
    [ "$(attempts)" = 2 ] || fail "$p $mode reset: $(attempts) requests, expected 2"
  done
done
exit 0
