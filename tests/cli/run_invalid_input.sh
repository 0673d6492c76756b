# Invalid inputs are rejected with a path before anything runs (exit 2).
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

printf '{"files": ["a", "b", 3]}' >"$tmp/bad.json"
run "$WEFT" run files.weft --input "$tmp/bad.json"
expect_rc 2 "wrong element type"
expect_err '--input: $.files[2]: expected string, got 3'
expect_no_out "wrong element type"

printf '{"files": ["a"], "depth": "deep"}' >"$tmp/bad2.json"
run "$WEFT" run files.weft --input "$tmp/bad2.json"
expect_rc 2 "wrong scalar type"
expect_err '$.depth'
expect_no_out "wrong scalar type"

run "$WEFT" run files.weft --arg 'files=["a"]' --arg depth=abc
expect_rc 2 "--arg depth=abc"
expect_err "--arg depth"
expect_no_out "--arg depth=abc"

run "$WEFT" run files.weft --arg 'files=[1]'
expect_rc 2 "--arg list of ints"
expect_err "--arg files"
expect_err "[0]"

printf '{"files": [' >"$tmp/broken.json"
run "$WEFT" run files.weft --input "$tmp/broken.json"
expect_rc 2 "invalid JSON"
expect_err "invalid JSON"

printf '[1, 2]' >"$tmp/array.json"
run "$WEFT" run files.weft --input "$tmp/array.json"
expect_rc 2 "--input that is not an object"
expect_err "object"
exit 0
