# A file without main checks and builds, but cannot run (usage error).
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

run "$WEFT" check nomain.weft
expect_rc 0 "check a library"

run "$WEFT" run nomain.weft
expect_rc 2 "run without main"
expect_err "nomain.weft has no main function"
expect_no_out "run without main"
exit 0
