# --max-instructions N bounds the work a program may do.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

run "$WEFT" run spin.weft --max-instructions 1000
expect_rc 1 "instruction limit"
expect_err "instruction limit (1000) exceeded"
expect_no_out "instruction limit"

run "$WEFT" run spin.weft --max-instructions 100000000
expect_rc 0 "enough instructions"
[ "$out" = "200000" ] || fail "spin: got $out"

run "$WEFT" run spin.weft --max-instructions 99999999999999999999999
expect_rc 2 "--max-instructions too large"
run "$WEFT" run spin.weft --max-instructions lots
expect_rc 2 "--max-instructions lots"
exit 0
