# docs/errors.md documents every code of lang/diagcodes.def, and each
# entry's first example really produces that code.
. "$TESTDIR/../lib/common.sh"
top="$TESTDIR/../.."
def="$top/lang/diagcodes.def"
doc="$top/docs/errors.md"
[ -r "$def" ] || fail "cannot read $def"
[ -r "$doc" ] || fail "cannot read $doc"

codes=$(sed -n 's/^DIAG(\([EWN][0-9][0-9][0-9][0-9]\),.*/\1/p' "$def")
[ -n "$codes" ] || fail "no codes found in $def"
mkdir "$tmp/ex" || exit 1
checked=0
for code in $codes; do
  grep -q "^### $code — " "$doc" || fail "docs/errors.md has no '### $code — title' entry"
  title=$(sed -n "s/^DIAG($code, *[A-Z]*, *\"\(.*\)\").*/\1/p" "$def")
  grep -q "^### $code — $title\$" "$doc" || fail "$code: the docs title differs from '$title'"
  # The first ```weft block after the heading, unless marked as not checked.
  awk -v code="$code" '
    $0 ~ "^### " code " " { inside = 1; next }
    inside && /^### / { exit }
    inside && /<!-- example not checked/ { print "SKIP"; exit }
    inside && /^```weft/ { grab = 1; next }
    grab && /^```/ { exit }
    grab { print }
  ' "$doc" >"$tmp/ex/example.weft"
  [ -s "$tmp/ex/example.weft" ] || fail "$code has no weft example"
  [ "$(cat "$tmp/ex/example.weft")" = "SKIP" ] && continue
  (cd "$tmp/ex" && "$WEFT" check --json example.weft) >"$tmp/out.json" 2>"$tmp/err.txt"
  rc=$?
  [ "$rc" -lt 128 ] || fail "$code: weft check crashed on the example"
  grep -q "\"code\":\"$code\"" "$tmp/out.json" ||
    fail "$code: the example in docs/errors.md does not produce it; got: $(cat "$tmp/out.json")"
  checked=$((checked + 1))
done
echo "$checked examples checked"
exit 0
