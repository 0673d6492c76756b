# weft disasm lists every function, for a source or a module alike.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

run "$WEFT" disasm boom.weft
expect_rc 0 "disasm source"
expect_out "main"
expect_out "inner"
expect_out "middle"
src_listing=$out

run "$WEFT" build boom.weft -o "$tmp/boom.weftc"
expect_rc 0 "build"
run "$WEFT" disasm "$tmp/boom.weftc"
expect_rc 0 "disasm module"
[ "$out" = "$src_listing" ] || fail "listing of the module differs from the source's"

run "$WEFT" disasm errors.weft
expect_rc 1 "disasm with errors"

run "$WEFT" disasm
expect_rc 2 "disasm without file"
exit 0
