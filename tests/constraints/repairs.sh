# A reply outside a range is repaired like any other mismatch, whatever the
# kind of bound: an int value, a float value (in a list's record), a
# string's length in code points, a list's length. Each is violated once
# (then answered well: one repair), and always (the ask fails, quoting the
# path-qualified validation error).
. "$TESTDIR/../lib/common.sh"

good='{"score": 3, "title": "fine", "topics": [{"name": "a", "weight": 0.5}]}'
# check NAME BAD-REPLY WANT-ERROR
check() {
  printf '{"replies": [{"reply": %s, "times": 1}, {"reply": %s}]}\n' "$2" "$good" >"$tmp/once.json"
  run "$WEFT" run "$TESTDIR/data/review.weft" --mock-script "$tmp/once.json" --json --no-journal
  expect_rc 0 "$1 once"
  contains "$out" '"result":{"score":3,"title":"fine","topics":[{"name":"a","weight":0.5}]}' ||
    fail "$1 once: result $out"
  contains "$out" '"repairs":1,' || fail "$1 once: not one repair: $out"
  printf '{"replies": [{"reply": %s}]}\n' "$2" >"$tmp/always.json"
  run "$WEFT" run "$TESTDIR/data/review.weft" --mock-script "$tmp/always.json" --no-journal
  expect_rc 1 "$1 always"
  expect_err "$3"
}

check int '{"score": 11, "title": "fine", "topics": [{"name": "a", "weight": 0.5}]}' \
  '$.score: expected int from 1 to 10, got 11'
check negative '{"score": -3, "title": "fine", "topics": [{"name": "a", "weight": 0.5}]}' \
  '$.score: expected int from 1 to 10, got -3'
check float '{"score": 3, "title": "fine", "topics": [{"name": "a", "weight": 1.5}]}' \
  '$.topics[0].weight: expected float from 0.0 to 1.0, got 1.5'
check string '{"score": 3, "title": "a title far too long", "topics": [{"name": "a", "weight": 0.5}]}' \
  '$.title: expected string of 1 to 12 characters, got 20'
check empty_string '{"score": 3, "title": "", "topics": [{"name": "a", "weight": 0.5}]}' \
  '$.title: expected string of 1 to 12 characters, got 0'
check list '{"score": 3, "title": "fine", "topics": [{"name": "a", "weight": 0.5}, {"name": "b", "weight": 0.5}, {"name": "c", "weight": 0.5}]}' \
  '$.topics: expected list[Topic] of 1 to 2 items, got 3'
# code points, not bytes: twelve "é" are 24 bytes and fit
printf '{"replies": [{"reply": {"score": 3, "title": "éééééééééééé", "topics": [{"name": "a", "weight": 0}]}}]}\n' >"$tmp/cp.json"
run "$WEFT" run "$TESTDIR/data/review.weft" --mock-script "$tmp/cp.json" --json --no-journal
expect_rc 0 "code points"
contains "$out" '"repairs":0,' || fail "code points: a repair: $out"
exit 0
