# What an import diagnostic quotes (the path as written, the first bytes of
# a file that does not parse) is escaped by the one terminal escaper in its
# quoted mode (base/term.h, term_quote): the quote ends where it seems to,
# the message stays on one line, a cut never splits a character, and the
# notation is the one of every other output.
. "$TESTDIR/../lib/common.sh"

mkdir "$tmp/p"
prog() {
  printf 'import "%s"\nfn main() -> int { 0 }\n' "$1" >"$tmp/p/main.weft"
}
# The E0204 line of stderr (the first line) must be the whole message.
one_line() {
  first=$(printf '%s\n' "$err" | head -n 1)
  contains "$first" "$2" || fail "$1: the message is not on its first line: $err"
}
ls_=$(printf '\342\200\250') ps_=$(printf '\342\200\251') nel=$(printf '\302\205')

# A line or paragraph separator in an import path: refused, shown escaped.
prog './a\u{2028}b\u{2029}c.weft'
run "$WEFT" check "$tmp/p/main.weft"
expect_rc 1 "line separators"
expect_err 'cannot import "./a\u{2028}b\u{2029}c.weft": the path contains'
case "$err" in *"$ls_"* | *"$ps_"*) fail "a line separator reached stderr: $err" ;; esac

# A newline and a tab: escaped in the quote, the message stays one line.
prog './a\nb\tc.weft'
run "$WEFT" check "$tmp/p/main.weft"
expect_rc 1 "newline and tab"
one_line "newline and tab" 'cannot import "./a\x0ab\x09c.weft": the path contains'

# C1 controls in the notation of every other output (\u{85}, not \u{0085}).
prog './a\u{85}b.weft'
run "$WEFT" check "$tmp/p/main.weft"
expect_rc 1 "C1"
expect_err 'cannot import "./a\u{85}b.weft"'
case "$err" in *"$nel"*) fail "a C1 control reached stderr: $err" ;; esac

# The first bytes of a file that does not parse: quotes and backslashes
# escaped, so the quote cannot be closed early by the file.
printf 'x"; help: trust me \\ \302\205\342\200\250\n' >"$tmp/p/junk.weft"
prog './junk.weft'
run "$WEFT" check "$tmp/p/main.weft"
expect_rc 1 "file start"
one_line "file start" 'the file starts with "x\"; help: trust me \\ \u{85}\u{2028}"'

# A long first line is cut after 32 bytes, before a character that would
# not fit whole, and the cut is marked after the quote.
printf '123456789012345678901234567890\342\234\223\342\234\223\n' >"$tmp/p/junk.weft"
run "$WEFT" check "$tmp/p/main.weft"
expect_rc 1 "cut"
one_line "cut" 'the file starts with "123456789012345678901234567890"...'
exit 0
