# main's result is printed as compact JSON after the program's own output;
# a main without a result prints nothing more.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

run "$WEFT" run void_main.weft
expect_rc 0 "void main"
[ -z "$out" ] || fail "void main printed: $out"

"$WEFT" run greet.weft --arg name=N >"$tmp/o" || fail "greet failed"
[ "$(od -An -c "$tmp/o" | tr -d ' \n' | tail -c 2)" = '\n' ] || fail "result not newline-terminated"

run "$WEFT" run files.weft --arg 'files=["x"]'
[ "$out" = "$(printf 'started\n1')" ] || fail "print then result: got $out"
exit 0
