# Unknown flags are usage errors (exit 2) with a pointer to the help.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

run "$WEFT" check --bogus hello.weft
expect_rc 2 "check --bogus"
expect_err "unknown flag '--bogus'"

run "$WEFT" run hello.weft --frob
expect_rc 2 "run --frob"
expect_err "unknown flag '--frob'"
expect_no_out "run --frob"

run "$WEFT" --bogus
expect_rc 2 "weft --bogus"

run "$WEFT" build hello.weft -x
expect_rc 2 "build -x"

run "$WEFT" run
expect_rc 2 "run without file"

run "$WEFT" run hello.weft greet.weft
expect_rc 2 "run with two files"

run "$WEFT" run hello.weft --input
expect_rc 2 "--input without a value"
exit 0
