# The trace events of the lowered constructs: a `verdict` per verify
# (one role or a quorum), a `tournament` event with the pairing seed, a `match` per
# tournament match (both orders' answers, outcome, round, format) and a
# `loop` event per loop-until iteration.
. "$TESTDIR/../lib/common.sh"
PROG="$TESTDIR/constructs.weft"
run "$WEFT" run "$PROG" --provider mock --mock-script "$TESTDIR/data/constructs.json" --trace "$tmp/a.jsonl"
expect_rc 0 "run"
T="$tmp/a.jsonl"
has() { grep -q "$1" "$T" || fail "missing in trace: $1"; }
has '"ev":"verdict","addr":"main","roles":\["a","b","c"\],"holds":true,"confidence":0.7,"reason":"a: fine\\nb: stale\\nc: fine too","quorum":2,"votes":2,"voters":3}'
has '"ev":"verdict","addr":"main","roles":\["c"\],"holds":true,"confidence":0.8,"reason":"fine too"}'
[ "$(grep -c '"ev":"verdict"' "$T")" = 2 ] || fail "verdict events"
has '"ev":"tournament","addr":"main","format":"round_robin","n":3,"seed":[0-9][0-9]*}'
[ "$(grep -c '"ev":"match"' "$T")" = 3 ] || fail "match events: $(grep -c '"ev":"match"' "$T")"
has '"ev":"match","addr":"main","a":0,"b":2,"ab":"B","ba":"A","outcome":"B","round":1,"format":"round_robin"}'
has '"ev":"loop","addr":"main","iteration":1,"until":false}'
has '"ev":"loop","addr":"main","iteration":2,"until":true}'
[ "$(grep -c '"ev":"loop"' "$T")" = 2 ] || fail "loop events"
# the seed is the one tournament_seed gives, so a replay pairs identically
run "$WEFT" run "$PROG" --provider mock --mock-script "$TESTDIR/data/constructs.json" --trace "$tmp/b.jsonl"
[ "$(grep -o '"seed":[0-9]*' "$T")" = "$(grep -o '"seed":[0-9]*' "$tmp/b.jsonl")" ] || fail "seed differs between runs"
exit 0
