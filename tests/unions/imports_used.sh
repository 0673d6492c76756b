# An import whose only use is a variant built by name is used: no W0001.
. "$TESTDIR/../lib/common.sh"
run "$WEFT" check --color=never "$TESTDIR/imports.weft"
expect_rc 0 "check"
contains "$err" "W0001" && fail "the import is reported unused: $err"
exit 0
