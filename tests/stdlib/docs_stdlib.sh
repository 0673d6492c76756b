# docs_stdlib.sh — docs/stdlib.md documents every builtin: each name of
# stdlib/natives.def and each function of stdlib/prelude.weft has a table
# row, and every example written `CALL` → `RESULT` there gives that result
# when run. RESULT is shown as to_json shows it, except `none` for null
# and durations without quotes (as print shows them).
. "$TESTDIR/../lib/common.sh"
top="$TESTDIR/../.."
doc="$top/docs/stdlib.md"
[ -r "$doc" ] || fail "cannot read $doc"
natives=$(sed -n 's/^NATIVE[A-Z_]*("\([a-z_0-9]*\)".*/\1/p' "$top/stdlib/natives.def" | sort -u)
prelude=$(sed -n 's/^fn \([a-z_0-9]*\).*/\1/p' "$top/stdlib/prelude.weft")
[ -n "$natives" ] && [ -n "$prelude" ] || fail "no builtins found"
for name in $natives $prelude; do
  grep -q "^|.*\`$name[[(]" "$doc" || fail "docs/stdlib.md has no table row for \`$name\`"
done

# The examples, one "CALL<tab>RESULT" line each.
awk '{
  line = $0
  while (match(line, /`[^`]+` → `[^`]+`/)) {
    ex = substr(line, RSTART + 1, RLENGTH - 2)
    line = substr(line, RSTART + RLENGTH)
    split(ex, part, /` → `/)
    print part[1] "\t" part[2]
  }
}' "$doc" >"$tmp/examples" || fail "cannot extract the examples"
n=0
tab=$(printf '\t')
while IFS="$tab" read -r call want; do
  printf 'fn main() {\n  print(to_json(%s))\n}\n' "$call" >"$tmp/ex.weft"
  run "$WEFT" run "$tmp/ex.weft"
  expect_no_crash "$call"
  [ "$rc" = 0 ] || fail "example \`$call\` does not run: $err"
  case "$want" in
  none) want=null ;;
  *[0-9]ms | *[0-9]s | *[0-9]m | *[0-9]h) want="\"$want\"" ;;
  esac
  [ "$out" = "$want" ] || fail "example \`$call\`: the docs say $want, it gives $out"
  n=$((n + 1))
done <"$tmp/examples"
[ "$n" -ge 80 ] || fail "only $n examples found in docs/stdlib.md"
echo "$n examples checked"
exit 0
