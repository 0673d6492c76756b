# Without an API key in the environment the ask fails before any request,
# naming the variable to set; an empty key counts as missing.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  case $p in anthropic) var=ANTHROPIC_API_KEY ;; *) var=OPENAI_API_KEY ;; esac
  for v in unset empty; do
    ask ask_text "$p" ok
    [ "$rc" = 0 ] || fail "$p with a key: $err"
    if [ $v = unset ]; then
      reset_stats
      run env -u "$var" "$WEFT" run "$tmp/ask_text.weft"
    else
      reset_stats
      run env "$var=" "$WEFT" run "$tmp/ask_text.weft"
    fi
    expect_rc 1 "$p key $v"
    expect_no_out "$p key $v"
    expect_err "$var"
    [ "$(attempts)" = 0 ] || fail "$p key $v: $(attempts) requests were sent"
  done
done
exit 0
