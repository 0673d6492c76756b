# A 10 MB text reply is under the 16 MiB reply cap and comes through whole,
# streaming and not, both providers.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  for mode in "" --no-stream; do
    ask ask_text "$p" huge-10mb $mode
    expect_rc 0 "$p $mode 10 MB"
    n=$(wc -c <"$tmp/.out")
    [ "$n" = 10000003 ] || fail "$p $mode 10 MB: $n bytes of output"
  done
done
exit 0
