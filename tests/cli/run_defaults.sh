# Defaults fill omitted parameters; a missing required one is a usage error.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

run "$WEFT" run greet.weft --arg name=X
[ "$out" = '"Hello, X"' ] || fail "defaults: got $out"

run "$WEFT" run greet.weft
expect_rc 2 "missing required parameter"
expect_err "name"
expect_err "string"
expect_no_out "missing parameter"

run "$WEFT" run files.weft
expect_rc 2 "missing list parameter"
expect_err "files: list[string]"
expect_no_out "missing list parameter"

run "$WEFT" run greet.weft --arg name=X --arg colour=red
expect_rc 2 "unknown --arg"
expect_err "colour"

printf '{"name": "X", "extra": 1}' >"$tmp/in.json"
run "$WEFT" run greet.weft --input "$tmp/in.json"
expect_rc 2 "unknown key in --input"
expect_err "extra"
exit 0
