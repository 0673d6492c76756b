# The guide's standard library section is generated: every native of
# stdlib/natives.def and every type and function of the std modules is
# listed exactly as declared (tests/guide/signatures.py), and a signature
# that differs is caught (the check is run on an altered guide too).
. "$TESTDIR/../lib/common.sh"
command -v python3 >/dev/null || fail "python3 is needed (./bootstrap --tests installs it)"
top="$TESTDIR/../.."
"$WEFT" guide --section stdlib >"$tmp/stdlib.md" || fail "weft guide --section stdlib failed"
python3 "$TESTDIR/signatures.py" "$tmp/stdlib.md" "$top" >"$tmp/log" 2>&1 || fail "$(cat "$tmp/log")"
# an altered signature, a dropped function and a dropped native are each caught
for edit in 's/^len(string) -> int/len(string) -> float/' '/^fs\.glob(/d' '/^tally(/d' \
  's/^http\.get(url: string)/http.get(url: string, timeout: duration)/'; do
  sed "$edit" "$tmp/stdlib.md" >"$tmp/bad.md"
  cmp -s "$tmp/stdlib.md" "$tmp/bad.md" && fail "the edit $edit changed nothing: the guide's format moved"
  python3 "$TESTDIR/signatures.py" "$tmp/bad.md" "$top" >/dev/null 2>&1 && fail "the check missed: $edit"
done
tail -n 1 "$tmp/log"
exit 0
