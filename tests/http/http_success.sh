# A text ask succeeds against both providers, streaming and not (--no-stream),
# with one request each to the provider's own path; SSE with CRLF line ends
# and bytes split across writes (inside UTF-8 characters too) reads the same.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  case $p in anthropic) path=/v1/messages ;; *) path=/v1/chat/completions ;; esac
  for mode in --stream --no-stream; do
    [ "$mode" = --stream ] && mode=""
    ask ask_text "$p" gpt-ok --arg "p=hello world" $mode
    expect_rc 0 "$p $mode"
    [ "$out" = '"echo: hello world"' ] || fail "$p $mode: got $out"
    [ "$(attempts)" = 1 ] || fail "$p $mode: $(attempts) requests"
    same_json "$(stats by_path)" "{\"$path\": 1}" || fail "$p $mode: paths $(stats by_path)"
  done
  ask ask_text "$p" crlf+split --arg 'p=héllo wörld ✓ 日本'
  expect_rc 0 "$p crlf+split"
  [ "$out" = '"echo: héllo wörld ✓ 日本"' ] || fail "$p crlf+split: got $out"
done
exit 0
