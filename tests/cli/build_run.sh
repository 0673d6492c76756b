# weft build writes a .weftc module that weft run recognises by its magic.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

run "$WEFT" build greet.weft -o "$tmp/greet.weftc"
expect_rc 0 "build"
[ -s "$tmp/greet.weftc" ] || fail "no module written"
[ "$(head -c 5 "$tmp/greet.weftc")" = "WEFTC" ] || fail "module lacks the WEFTC magic"

run "$WEFT" run "$tmp/greet.weftc" --arg name=Mod
expect_rc 0 "run module"
[ "$out" = '"Hello, Mod"' ] || fail "module run: got $out"

# Detected by contents, not by extension.
cp "$tmp/greet.weftc" "$tmp/greet.data"
run "$WEFT" run "$tmp/greet.data" --arg name=Mod
[ "$out" = '"Hello, Mod"' ] || fail "module with another extension: got $out"

# Inputs are validated against the module's types too.
run "$WEFT" run "$tmp/greet.weftc" --arg name=X --arg times=many
expect_rc 2 "bad input to a module"

# Default output name: FILE.weftc next to the source (copied to tmp).
cp hello.weft "$tmp/hello.weft"
run "$WEFT" build "$tmp/hello.weft"
expect_rc 0 "build with default output"
[ -s "$tmp/hello.weftc" ] || fail "default output hello.weftc missing"
run "$WEFT" run "$tmp/hello.weftc"
[ "$out" = "hello" ] || fail "hello module: got $out"

run "$WEFT" build errors.weft -o "$tmp/errors.weftc"
expect_rc 1 "build with errors"
[ -e "$tmp/errors.weftc" ] && fail "a module was written despite errors"
exit 0
