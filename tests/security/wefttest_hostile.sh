# Hostile test files and results under weft test: escape sequences and
# bidi controls in a result, a model reply or a test name reach no report
# raw (text, TAP, JUnit — which stays well-formed XML, though XML 1.0
# cannot hold such characters), and a test file nested past any sane
# depth, or holding too many tests, is refused with one line, no crash.
. "$TESTDIR/../lib/common.sh"
command -v python3 >/dev/null 2>&1 || fail "python3 is needed"
cat >"$tmp/p.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() -> string {
  let s = ask r "say something"
  "\u{1b}]52;c;ZXZpbA==\u{7}" + s + "\u{202e}"
}
EOF_W
cat >"$tmp/m.json" <<'EOF_J'
{"replies": [{"role": "r", "reply": "\u001b[2J\u009b\u2066cleared"}]}
EOF_J
cat >"$tmp/t.test.json" <<'EOF_J'
[{"name": "bidi \u202e in the name", "program": "p.weft", "mock": "m.json",
  "expect": {"result": "\u001b[31m"}},
 {"name": "passing", "program": "p.weft", "mock": "m.json", "expect": {"calls": 1}}]
EOF_J
raw() { # raw FILE WHAT: FILE holds no ESC, BEL, C1 CSI or RLO byte sequence
  "$PY_BIN" - "$1" <<'EOF_P' || fail "$2: raw control characters: $(od -c "$1" | head -20)"
import sys
b = open(sys.argv[1], "rb").read()
for bad in (b"\x1b", b"\x07", "\u009b".encode(), "\u202e".encode(), "\u2066".encode()):
    assert bad not in b, bad
EOF_P
}
PY_BIN=$(python3 -c 'import sys; print(sys.executable)')
for f in text tap junit; do
  "$WEFT" test --format=$f "$tmp/t.test.json" >"$tmp/out.$f" 2>"$tmp/err.$f"
  rc=$?
  [ "$rc" = 1 ] || fail "--format=$f: exit $rc, not 1: $(cat "$tmp/err.$f")"
  raw "$tmp/out.$f" "--format=$f stdout"
  raw "$tmp/err.$f" "--format=$f stderr"
done
grep -q 'bidi \\u{202e} in the name' "$tmp/out.text" || fail "the name is not shown escaped: $(cat "$tmp/out.text")"
grep -q 'u001b\]52;c;ZXZpbA==' "$tmp/out.text" || fail "the result is not shown escaped: $(cat "$tmp/out.text")"
"$PY_BIN" - "$tmp/out.junit" <<'EOF_P' || fail "JUnit: $(cat "$tmp/out.junit")"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.get("tests") == "2" and root.get("failures") == "1", root.attrib
case = root.find("testsuite").findall("testcase")[0]
assert case.get("name") == "bidi \\u{202e} in the name", case.get("name")
assert "u001b]52;c;ZXZpbA==" in case.find("failure").text, case.find("failure").text
EOF_P

# nesting far past cJSON's limit: refused as not JSON, no crash
"$PY_BIN" -c 'print("[" * 200000)' >"$tmp/deep.test.json"
run "$WEFT" test "$tmp/deep.test.json"
expect_no_crash "a deeply nested test file"
expect_rc 2 "a deeply nested test file"
expect_err "not JSON"
"$PY_BIN" -c 'print("{\"program\": \"p.weft\", \"expect\": {\"result\": " + "[" * 5000 + "]" * 5000 + "}}")' >"$tmp/deep2.test.json"
run "$WEFT" test "$tmp/deep2.test.json"
expect_no_crash "a deeply nested expected result"
expect_rc 2 "a deeply nested expected result"
# too many tests
"$PY_BIN" -c 'import json; print(json.dumps([{"program": "p.weft", "expect": {}}] * 10001))' >"$tmp/many.test.json"
run "$WEFT" test "$tmp/many.test.json"
expect_rc 2 "10001 tests"
expect_err "holds more than 10000 tests"
# a name with a control character is refused, escaped in the message
printf '{"name": "a\\u001b[2Jb", "program": "p.weft", "expect": {}}\n' >"$tmp/n.test.json"
run "$WEFT" test "$tmp/n.test.json"
expect_rc 2 "a control character in a name"
expect_err '"name" must be a one-line string'
printf '{"program": "p.weft", "exp\\u001b[2Jct": {}}\n' >"$tmp/k.test.json"
"$WEFT" test "$tmp/k.test.json" >"$tmp/o" 2>"$tmp/e"
[ $? = 2 ] || fail "a control character in a key"
raw "$tmp/e" "an unknown key with a control character"
grep -q 'unknown key "exp\\x1b\[2Jct"' "$tmp/e" || fail "the key is not quoted escaped: $(cat "$tmp/e")"
