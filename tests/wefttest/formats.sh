# weft test --format=tap (TAP version 13: a plan, ok / not ok lines, a
# YAML block for each failure) and --format=junit (well-formed JUnit XML,
# checked with python's xml.etree: counts, one testcase per test, the
# failure's message and text, names with XML and TAP specials escaped).
. "$TESTDIR/../lib/common.sh"
command -v python3 >/dev/null 2>&1 || fail "python3 is needed"
cp "$DATA/review.weft" "$DATA/review.mock.json" "$tmp/"
base='"program": "review.weft", "args": {"change": "+ strcpy(a, b);"}, "mock": "review.mock.json"'
# what a program prints stays out of the report (it would forge results)
printf 'fn main() -> int {\n  print("ok 99 - forged")\n  print("</testsuites>")\n  1\n}\n' >"$tmp/printer.weft"
cat >"$tmp/f.test.json" <<EOF_J
[{"name": "passes <&> \"q\" 'a' # not a directive", $base, "expect": {"calls": 2}},
 {"name": "fails ]]> \\u202e", $base, "expect": {"calls": 7, "result": {"findings": 0}}},
 {"name": "passes too", $base, "expect": {"roles": ["reviewer", "lead"]}},
 {"name": "prints", "program": "printer.weft", "expect": {"result": 1, "calls": 0}}]
EOF_J

run "$WEFT" test --format=tap "$tmp/f.test.json"
expect_rc 1 "--format=tap"
printf '%s\n' "$out" >"$tmp/tap"
[ "$(sed -n 1p "$tmp/tap")" = "TAP version 13" ] || fail "TAP: no version line: $out"
[ "$(sed -n 2p "$tmp/tap")" = "1..4" ] || fail "TAP: no plan: $out"
grep -q "^ok 1 - $tmp/f.test.json: passes <&> \"q\" 'a' \\\\# not a directive\$" "$tmp/tap" || fail "TAP: test 1: $out"
grep -q "^not ok 2 - $tmp/f.test.json: fails ]]> \\\\u{202e}\$" "$tmp/tap" || fail "TAP: test 2: $out"
grep -q "^ok 3 - " "$tmp/tap" || fail "TAP: test 3: $out"
grep -q '^  ---$' "$tmp/tap" && grep -q '^  \.\.\.$' "$tmp/tap" || fail "TAP: no YAML block: $out"
grep -q '^  message: "result: differs from the expected one"$' "$tmp/tap" || fail "TAP: the failure's message: $out"
grep -q '^    -  "findings": 0$' "$tmp/tap" || fail "TAP: the diff in the block: $out"
[ "$(grep -c '^\(not \)\?ok ' "$tmp/tap")" = 4 ] || fail "TAP: not 4 results: $out"
grep -q "^ok 4 - $tmp/f.test.json: prints\$" "$tmp/tap" || fail "TAP: test 4: $out"
contains "$out" "forged" && fail "TAP: the program's output is in the report: $out"

run "$WEFT" test --format=junit "$tmp/f.test.json"
expect_rc 1 "--format=junit"
printf '%s\n' "$out" >"$tmp/junit.xml"
python3 - "$tmp/junit.xml" "$tmp/f.test.json" <<'EOF_P' || fail "JUnit: $out"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
assert root.get("tests") == "4" and root.get("failures") == "1", root.attrib
suites = root.findall("testsuite")
assert len(suites) == 1 and suites[0].get("name") == sys.argv[2], [s.attrib for s in suites]
assert suites[0].get("tests") == "4" and suites[0].get("failures") == "1", suites[0].attrib
cases = suites[0].findall("testcase")
assert [c.get("name") for c in cases] == [
    "passes <&> \"q\" 'a' # not a directive", "fails ]]> \\u{202e}", "passes too", "prints"], [c.get("name") for c in cases]
assert all(c.get("classname") == sys.argv[2] for c in cases)
assert cases[0].find("failure") is None and cases[2].find("failure") is None
f = cases[1].find("failure")
assert f is not None and f.get("message") == "result: differs from the expected one", f.attrib
assert "--- expected" in f.text and '-  "findings": 0' in f.text and 'calls: expected 7, got 2' in f.text, f.text
float(root.get("time")); float(cases[0].get("time"))
EOF_P

# all passing: exit 0, and the counts say so
printf '[{"name": "one", %s, "expect": {"calls": 2}}]\n' "$base" >"$tmp/ok.test.json"
run "$WEFT" test --format=junit "$tmp/ok.test.json"
expect_rc 0 "--format=junit, all passing"
expect_out 'tests="1" failures="0"'
run "$WEFT" test --format=tap "$tmp/ok.test.json"
expect_rc 0 "--format=tap, all passing"
expect_out "# 1 passed, 0 failed"
