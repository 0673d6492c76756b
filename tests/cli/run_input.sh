# --input FILE.json gives main's parameters; --arg overrides it.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

printf '{"name": "Ada", "times": 2}\n' >"$tmp/in.json"
run "$WEFT" run greet.weft --input "$tmp/in.json"
expect_rc 0 "--input"
[ "$out" = '"Hello, Ada Hello, Ada"' ] || fail "--input: got $out"

run "$WEFT" run greet.weft --input "$tmp/in.json" --arg times=1
[ "$out" = '"Hello, Ada"' ] || fail "--arg over --input: got $out"

run "$WEFT" run greet.weft --input="$tmp/in.json" --arg name=Zed
[ "$out" = '"Hello, Zed Hello, Zed"' ] || fail "--input= form: got $out"

# --input - reads standard input.
"$WEFT" run greet.weft --input - <"$tmp/in.json" >"$tmp/o" 2>"$tmp/e" || fail "--input -: $(cat "$tmp/e")"
[ "$(cat "$tmp/o")" = '"Hello, Ada Hello, Ada"' ] || fail "--input -: got $(cat "$tmp/o")"

run "$WEFT" run greet.weft --input "$tmp/missing.json"
expect_rc 2 "missing input file"
expect_err "missing.json"
exit 0
