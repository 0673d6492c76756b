# weft guide: the whole guide, one section, the list of sections, JSON;
# an unknown section or a stray argument is a usage error (exit 2) that
# names the sections; the guide stays small enough for a model's context.
. "$TESTDIR/../lib/common.sh"
CAP=24576   # bytes: the guide goes into a prompt (docs/cli.md, "weft guide")

run "$WEFT" guide
expect_rc 0 "guide"
whole=$out
size=$("$WEFT" guide | wc -c)
[ "$size" -le "$CAP" ] || fail "the guide is $size bytes, over the cap of $CAP"
[ "$size" -ge 8000 ] || fail "the guide is only $size bytes"
expect_out "fn main(task: string, input: json) -> string"

run "$WEFT" guide --list
expect_rc 0 "guide --list"
names=$(printf '%s\n' "$out" | awk '{print $1}')
for s in intro program syntax types constructs stdlib patterns mistakes; do
  printf '%s\n' "$names" | grep -qx "$s" || fail "--list lacks the section $s: $out"
done

# the sections, in order, make up the whole guide
: >"$tmp/joined"
for s in $names; do
  run "$WEFT" guide --section "$s"
  expect_rc 0 "guide --section $s"
  [ -n "$out" ] || fail "section $s is empty"
  "$WEFT" guide --section "$s" >>"$tmp/joined"
done
"$WEFT" guide >"$tmp/whole"
cmp -s "$tmp/joined" "$tmp/whole" || fail "the sections do not add up to the guide"

run "$WEFT" guide --section stdlib
expect_out "## stdlib"
expect_out "len(string) -> int"
contains "$out" "## mistakes" && fail "--section stdlib printed another section"

run "$WEFT" guide --section nosuch
expect_rc 2 "an unknown section"
expect_err "no section 'nosuch'"
expect_err "mistakes"
expect_no_out "an unknown section"

run "$WEFT" guide --section
expect_rc 2 "--section without a name"

run "$WEFT" guide extra.weft
expect_rc 2 "a stray argument"
expect_err "takes no file"

run "$WEFT" guide --nonsense
expect_rc 2 "an unknown flag"

# a section name with control characters is shown escaped
run "$WEFT" guide --section "$(printf 'x\033[2Jy')"
expect_rc 2 "a section name with an escape"
contains "$err" "$(printf '\033')" && fail "the raw escape reached stderr: $err"

# --json: one document whose sections' texts are those of --section
command -v python3 >/dev/null || fail "python3 is needed (./bootstrap --tests installs it)"
"$WEFT" guide --json >"$tmp/g.json" || fail "guide --json failed"
"$WEFT" guide --section mistakes >"$tmp/m.txt"
python3 - "$tmp/g.json" "$tmp/whole" "$tmp/m.txt" <<'PY' || fail "guide --json is not what the text says"
import json, sys
d = json.load(open(sys.argv[1], encoding='utf-8'))
whole = open(sys.argv[2], encoding='utf-8').read()
assert ''.join(s['text'] for s in d['sections']) == whole
m = [s for s in d['sections'] if s['name'] == 'mistakes'][0]
assert m['text'] == open(sys.argv[3], encoding='utf-8').read()
assert all(s['title'] for s in d['sections'])
PY
run "$WEFT" guide --list --json
expect_rc 0 "guide --list --json"
printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["sections"] and all("text" not in s for s in d["sections"])' ||
  fail "guide --list --json: $out"
run "$WEFT" guide --section types --json
printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert [s["name"] for s in d["sections"]] == ["types"]' ||
  fail "guide --section types --json: $out"

run "$WEFT" guide --help
expect_rc 0 "guide --help"
expect_out "usage: weft guide"
own=$out
run "$WEFT" help guide
[ "$out" = "$own" ] || fail "'weft guide --help' differs from 'weft help guide'"
exit 0
