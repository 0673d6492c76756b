# main's inputs are checked against their ranges, like replies: a value
# outside is a usage error naming the input, whether given with --arg or
# --input; one inside runs.
. "$TESTDIR/../lib/common.sh"

cat >"$tmp/p.weft" <<'EOF_W'
type Score = int(1..10)
fn main(score: Score, tags: list[string](..2)) { print("{score} {tags}") }
EOF_W
run "$WEFT" run "$tmp/p.weft" --no-journal --arg score=7 --arg 'tags=["a"]'
expect_rc 0 "inside"
expect_out '7 ["a"]'
run "$WEFT" run "$tmp/p.weft" --no-journal --arg score=11 --arg 'tags=[]'
expect_rc 2 "score outside"
expect_err 'score: expected int from 1 to 10, got 11'
printf '{"score": 3, "tags": ["a", "b", "c"]}' >"$tmp/in.json"
run "$WEFT" run "$tmp/p.weft" --no-journal --input "$tmp/in.json"
expect_rc 2 "tags outside"
expect_err '$.tags: expected list[string] of at most 2 items, got 3'
exit 0
