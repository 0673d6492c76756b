# Exit codes: 0 success, 1 the program's failure or check errors, 2 usage.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

run "$WEFT" run hello.weft
expect_rc 0 "run hello"
run "$WEFT" check hello.weft
expect_rc 0 "check hello"
run "$WEFT" check errors.weft
expect_rc 1 "check with errors"
run "$WEFT" run errors.weft
expect_rc 1 "run with compile errors"
run "$WEFT" run boom.weft
expect_rc 1 "runtime error"
run "$WEFT" frobnicate
expect_rc 2 "unknown command"
run "$WEFT" run no-such-file.weft
expect_rc 2 "run missing file"
expect_err "no-such-file.weft"
run "$WEFT" check no-such-file.weft
expect_rc 2 "check missing file"
run "$WEFT" check .
expect_rc 1 "check a directory (its .weft files; errors.weft has errors)"
run "$WEFT" check hello.weft no-such-file.weft
expect_rc 2 "check with one missing file"
run "$WEFT"
expect_rc 2 "no arguments"
exit 0
