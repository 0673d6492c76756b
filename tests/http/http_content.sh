# Odd but well-formed replies: invalid UTF-8 in the text arrives with the
# bad bytes replaced by U+FFFD (the output is valid UTF-8); an empty reply
# is "" for a text ask and is repaired for a typed ask; a reply cut by
# max_tokens fails a typed ask only after its repairs. Both providers,
# streaming and not.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  for mode in "" --no-stream; do
    ask ask_text "$p" fault-badutf8 $mode
    expect_rc 0 "$p $mode bad UTF-8"
    "$PY" -c 'import json,sys
s = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
assert s.startswith("bad ") and s.endswith(" end") and "\ufffd" in s, s' "$tmp/.out" ||
      fail "$p $mode bad UTF-8: got $out"

    ask ask_text "$p" fault-empty $mode
    expect_rc 0 "$p $mode empty text"
    [ "$out" = '""' ] || fail "$p $mode empty text: got $out"

    ask typed_record "$p" fault-empty-then-ok $mode
    expect_rc 0 "$p $mode empty typed then ok"
    [ "$(repairs)" = 1 ] || fail "$p $mode empty typed: $(repairs) repairs"
  done
  ask typed_record "$p" fault-maxtokens
  expect_rc 1 "$p max_tokens forever"
  expect_no_crash "$p max_tokens"
  expect_err scribe
done
exit 0
