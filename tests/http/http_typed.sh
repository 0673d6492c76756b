# Typed asks end to end: the request carries the JSON Schema of the type
# (Anthropic output_config.format, OpenAI response_format.json_schema), the
# server answers with JSON generated from that schema, and the program gets
# the typed value: a record with an enum and an optional field, and a list
# at the top level. Both providers, streaming and not.
. "$TESTDIR/../lib/server.sh"

want_item='{"name":"text","level":"low","note":"text","count":1,"score":1.5,"ok":true}'
want_list='[{"label":"text","weight":1},{"label":"text","weight":1}]'
for p in anthropic openai; do
  for mode in "" --no-stream; do
    ask typed_record "$p" gpt-ok $mode
    expect_rc 0 "$p $mode record"
    same_json "$out" "$want_item" || fail "$p $mode record: got $out"
    [ "$(attempts)" = 1 ] || fail "$p $mode record: $(attempts) requests"
    ask typed_list "$p" gpt-ok $mode
    expect_rc 0 "$p $mode list"
    same_json "$out" "$want_list" || fail "$p $mode list: got $out"
  done
done
exit 0
