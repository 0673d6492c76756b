# Every diagnostic code the guide cites exists in lang/diagcodes.def, and
# the "mistakes" section cites at least a dozen.
. "$TESTDIR/../lib/common.sh"
def="$TESTDIR/../../lang/diagcodes.def"
# unknown_codes FILE: the codes FILE cites that diagcodes.def does not list
unknown_codes() {
  for c in $(grep -o '\b[EWN][0-9]\{4\}\b' "$1" | sort -u); do
    grep -q "^DIAG($c," "$def" || echo "$c"
  done
}
"$WEFT" guide >"$tmp/guide.md" || fail "weft guide failed"
grep -q 'E0[0-9]\{3\}' "$tmp/guide.md" || fail "the guide cites no code"
bad=$(unknown_codes "$tmp/guide.md")
[ -z "$bad" ] || fail "the guide cites codes lang/diagcodes.def does not list: $bad"
"$WEFT" guide --section mistakes >"$tmp/mistakes.md" || fail "weft guide --section mistakes failed"
n=$(grep -o '\b[EWN][0-9]\{4\}\b' "$tmp/mistakes.md" | sort -u | wc -l)
[ "$n" -ge 12 ] || fail "the mistakes section cites only $n codes"
# the check finds a code that does not exist
printf -- '- E0999 not a code, E0301 a code\n' >"$tmp/fake.md"
[ "$(unknown_codes "$tmp/fake.md")" = E0999 ] || fail "the check missed an unknown code"
exit 0
