# An imported file that does not parse is summarized in one E0204 at the
# import: where its first error is, and at most its first 32 bytes, escaped.
# Its own text is never quoted further: not by a caret excerpt, not by a
# message, not with --json or --color=always, not from run. The file itself
# is still checked in full when it is the one named on the command line.
. "$TESTDIR/../lib/common.sh"

mkdir "$tmp/p"
esc=$(printf '\033')
# A first line that clears the screen and paints red, then a fake secret past
# the first bytes; more secrets on later lines.
printf '\033[2J\033[31mthis is not weft at all, FAKESECRET-LINE1-0001 FAKESECRET-LINE1-0002\nTOKEN=FAKESECRET-LINE2-0003\n' >"$tmp/p/junk.weft"
i=0
while [ "$i" -lt 300 ]; do
  printf 'KEY_%d=FAKESECRET-MANY-%04d\n' "$i" "$i"
  i=$((i + 1))
done >>"$tmp/p/junk.weft"
printf 'import "./junk.weft" as j\nfn main() -> int { 0 }\n' >"$tmp/p/main.weft"

quiet() {
  case "$out$err" in
    *FAKESECRET*) fail "$1: the file's text was printed past its first bytes: $out $err" ;;
    *"$esc[2J"* | *"$esc[31m"*) fail "$1: an escape sequence of the file reached the output: $out $err" ;;
  esac
  expect_no_crash "$1"
}

run "$WEFT" check "$tmp/p/main.weft"
quiet "check"
expect_rc 1 "check"
expect_err "error[E0204]"
expect_err "does not parse"
expect_err 'starts with "\x1b[2J\x1b[31mthis is not weft at all"...'
expect_err "line 1, column 1"
expect_err "weft check"
n=$(printf '%s\n' "$err" | grep -c 'error\[')
[ "$n" = 1 ] || fail "check: $n diagnostics, expected one summary: $err"

run "$WEFT" check --color=always "$tmp/p/main.weft"
quiet "check --color=always"
expect_err "does not parse"

run "$WEFT" check --json "$tmp/p/main.weft"
quiet "check --json"
expect_out '"errors":1,'
expect_out '\\x1b[2J'

run "$WEFT" run --no-journal "$tmp/p/main.weft"
quiet "run"
expect_rc 1 "run"

# Nested: the summary stands at the import that named the file.
mkdir "$tmp/p/lib"
printf 'import "../junk.weft"\nfn f() -> int { 1 }\n' >"$tmp/p/lib/mid.weft"
printf 'import "./lib/mid.weft" as m\nfn main() -> int { m.f() }\n' >"$tmp/p/main.weft"
run "$WEFT" check --json "$tmp/p/main.weft"
quiet "nested check --json"
expect_out 'mid.weft"'

# A real module with a typo far down: the summary says where; checking the
# module itself shows the error in full.
{
  i=0
  while [ "$i" -lt 40 ]; do
    printf 'fn f%d() -> int { %d }\n' "$i" "$i"
    i=$((i + 1))
  done
  printf 'fn broken( -> int { 1 }\n'
} >"$tmp/p/lib/typo.weft"
printf 'import "./lib/typo.weft" as t\nfn main() -> int { t.f1() }\n' >"$tmp/p/main.weft"
run "$WEFT" check "$tmp/p/main.weft"
expect_rc 1 "a module with a syntax error"
expect_err "line 41"
expect_err "weft check $tmp/p/./lib/typo.weft"
run "$WEFT" check "$tmp/p/lib/typo.weft"
expect_rc 1 "the module checked on its own"
expect_err "typo.weft:41:"
expect_err "fn broken( -> int"

# The main file's own errors are shown as always.
printf 'fn main() -> int { 0 }\nTOKEN=MAINFILE-TEXT\n' >"$tmp/p/main.weft"
run "$WEFT" check "$tmp/p/main.weft"
expect_rc 1 "a main file that does not parse"
expect_err "MAINFILE-TEXT"
exit 0
