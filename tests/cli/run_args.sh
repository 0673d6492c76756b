# --arg NAME=VALUE: JSON when it parses and fits, else a plain string.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

run "$WEFT" run greet.weft --arg name=World
expect_rc 0 "--arg name=World"
[ "$out" = '"Hello, World"' ] || fail "got $out"

run "$WEFT" run greet.weft --arg name=Ada --arg times=2
[ "$out" = '"Hello, Ada Hello, Ada"' ] || fail "times=2: got $out"

run "$WEFT" run greet.weft --arg=name=Ada --arg loud=true
[ "$out" = '"HELLO, ADA"' ] || fail "loud=true: got $out"

# A number given for a string parameter is taken as its text.
run "$WEFT" run greet.weft --arg name=123
expect_rc 0 "--arg name=123"
[ "$out" = '"Hello, 123"' ] || fail "name=123: got $out"

# A JSON string is unquoted.
run "$WEFT" run greet.weft --arg 'name="Bob"'
[ "$out" = '"Hello, Bob"' ] || fail "quoted name: got $out"

# The last --arg for a name wins.
run "$WEFT" run greet.weft --arg name=A --arg name=B
[ "$out" = '"Hello, B"' ] || fail "last --arg wins: got $out"

run "$WEFT" run files.weft --arg 'files=["a","b"]' --arg depth=3
expect_rc 0 "list argument"
[ "$out" = "$(printf 'started\n6')" ] || fail "files: got $out"

run "$WEFT" run greet.weft --arg noequals
expect_rc 2 "--arg without ="
exit 0
