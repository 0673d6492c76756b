# weft fmt over every .weft file of the repository (examples/, stdlib/,
# tests/): every file that parses is already in the canonical layout (so
# the repository is kept formatted), and a copy of it with all indentation
# removed formats back to the file itself, byte for byte (fmt_cli.sh checks
# that formatting leaves the bytecode as it was). One process per step, so
# the test stays quick under sanitizers.
. "$TESTDIR/../lib/common.sh"
top=$(cd "$TESTDIR/../.." && pwd)
cd "$top" || exit 1
find examples stdlib tests -name '*.weft' -not -path '*/fuzz/*' | sort >"$tmp/all"
n=$(wc -l <"$tmp/all")
[ "$n" -ge 300 ] || fail "only $n .weft files found"
# 1. formatted: --check prints a diff for each file that is not, and the
#    diagnostics of each file that does not parse (those are left out)
"$WEFT" fmt --check $(cat "$tmp/all") >"$tmp/diff" 2>"$tmp/diag"
grep '^--- ' "$tmp/diff" | sed 's/^--- //' >"$tmp/bad"
[ -s "$tmp/bad" ] && fail "not formatted (run: weft fmt -w FILE):
$(cat "$tmp/bad")
$(head -40 "$tmp/diff")"
sed -n 's/^\([^:]*\.weft\):[0-9]*:[0-9]*: error.*/\1/p' "$tmp/diag" | sort -u >"$tmp/unparsed"
grep -vxF -f "$tmp/unparsed" "$tmp/all" >"$tmp/parsed" || fail "no file parses"
# 2. indentation removed formats back (lines inside a """ string keep theirs;
#    files with a block comment, whose lines are text, are left out)
mkdir "$tmp/flat"
while read -r f; do
  grep -q '/\*' "$f" && continue
  mkdir -p "$tmp/flat/$(dirname "$f")"
  awk '{ if (!inside) sub(/^[ \t]+/, ""); print; k = gsub(/"""/, "&"); if (k % 2) inside = !inside }' \
    "$f" >"$tmp/flat/$f"
done <"$tmp/parsed"
"$WEFT" fmt -w "$tmp/flat" 2>"$tmp/flat.err" || fail "fmt -w of the flattened copies failed: $(head -20 "$tmp/flat.err")"
checked=0
while read -r f; do
  [ -f "$tmp/flat/$f" ] || continue
  cmp -s "$f" "$tmp/flat/$f" || fail "$f: with its indentation removed it formats differently:
$(diff "$f" "$tmp/flat/$f" | head -20)"
  checked=$((checked + 1))
done <"$tmp/parsed"
[ "$checked" -ge 300 ] || fail "only $checked files checked"
echo "$(wc -l <"$tmp/parsed") files formatted, $checked rebuilt from flattened copies, $(wc -l <"$tmp/unparsed") do not parse"
exit 0
