# A 20 MB reply is over the 16 MiB reply cap: a clean error (exit 1, a short
# message about the size, no crash), streaming and not, both providers.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  for mode in "" --no-stream; do
    ask ask_text "$p" huge-20mb $mode
    expect_rc 1 "$p $mode 20 MB"
    expect_no_out "$p $mode 20 MB"
    expect_err "scribe"
    expect_err "16 MiB"
    [ ${#err} -lt 2000 ] || fail "$p $mode 20 MB: the error quotes the reply (${#err} bytes)"
  done
done
exit 0
