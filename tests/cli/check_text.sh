# Human diagnostics: file:line:col, code, caret; colour only when wanted.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1
esc=$(printf '\033')

run "$WEFT" check errors.weft
expect_rc 1 "check errors"
expect_no_out "check errors"
expect_err "errors.weft:3:"
expect_err "error[E0301]"
expect_err "errors.weft:4:"
expect_err "error[E0201]"
expect_err "^"
contains "$err" "$esc" && fail "colour on a pipe without --color"

NO_COLOR=1 run "$WEFT" check errors.weft
contains "$err" "$esc" && fail "colour despite NO_COLOR"

run "$WEFT" check --color=never errors.weft
contains "$err" "$esc" && fail "colour with --color=never"

run "$WEFT" check --color=always errors.weft
expect_rc 1 "--color=always"
contains "$err" "$esc" || fail "no colour with --color=always"

NO_COLOR= run "$WEFT" check --color=always errors.weft
contains "$err" "$esc" || fail "no colour with --color=always and empty NO_COLOR"

run "$WEFT" check --color=sometimes errors.weft
expect_rc 2 "bad --color value"
exit 0
