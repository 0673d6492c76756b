# man_page.sh — the weft(1) page (docs/weft.1) cannot fall behind the
# command: every command of `weft --help` and every flag of every
# command's --help appears in it, and groff renders it without a warning.
. "$TESTDIR/../lib/common.sh"

man="$TESTDIR/../../docs/weft.1"
[ -f "$man" ] || fail "no docs/weft.1"
# the page's text with roff's escaped hyphens plain
page=$(sed 's/\\-/-/g' "$man")

run "$WEFT" --help
expect_rc 0 "weft --help"
cmds=$(printf '%s\n' "$out" | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p')
[ "$(printf '%s\n' "$cmds" | wc -l)" -ge 10 ] || fail "found too few commands in weft --help: $cmds"
nflags=0
for c in $cmds; do
  printf '%s\n' "$page" | grep -q "^\.B $c\$" || fail "weft.1 does not describe the command '$c'"
  run "$WEFT" "$c" --help
  expect_rc 0 "weft $c --help"
  for f in $(printf '%s\n' "$out" | grep -oE '(^|[ [,])--[a-z][a-z-]*' | sed 's/^[ [,]//' | sort -u); do
    nflags=$((nflags + 1))
    contains "$page" "$f" || fail "weft.1 does not mention $f (from weft $c --help)"
  done
done
[ "$nflags" -ge 40 ] || fail "found only $nflags flags in the commands' help"

if command -v groff >/dev/null 2>&1; then
  run groff -man -Tutf8 -ww -z "$man"
  [ -z "$err" ] || fail "groff warns about weft.1: $err"
else
  fail "groff is needed to check weft.1 (Debian: apt-get install groff-base)"
fi
