# A program whose typed ask has a range of every kind runs against the local
# server as each real API: the server refuses what that API refuses
# (server_refuses.sh), so a run that succeeds shows the schema we send stays
# inside each provider's accepted subset. Streaming and not.
. "$TESTDIR/../lib/server.sh"

want='{"score":1,"weight":1.5,"title":"text","tags":["text","text"]}'
for p in anthropic openai; do
  for mode in "" --no-stream; do
    sed "s#model: \"[^\"]*\"#model: \"$p/gpt-ok\"#" "$TESTDIR/data/typed_ranges.weft" >"$tmp/r.weft"
    reset_stats
    run "$WEFT" run "$tmp/r.weft" $mode
    expect_rc 0 "$p $mode"
    same_json "$out" "$want" || fail "$p $mode: got $out"
    [ "$(attempts)" = 1 ] || fail "$p $mode: $(attempts) requests (a schema refused, or a repair)"
  done
done
exit 0
