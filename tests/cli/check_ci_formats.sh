# weft check for CI: --format=sarif is a SARIF 2.1.0 log valid against the
# official schema (tests/cli/data/sarif-schema-2.1.0.json), --format=github
# gives workflow-command annotations, a directory stands for its .weft
# files, and --deny-warnings fails on warnings.
. "$TESTDIR/../lib/common.sh"
command -v python3 >/dev/null || fail "python3 is needed (./bootstrap --tests installs it)"
python3 -c 'import jsonschema' 2>/dev/null || fail "python3-jsonschema is needed (./bootstrap --tests installs it)"

mkdir -p "$tmp/proj/sub" "$tmp/proj/.hidden" "$tmp/proj/a,b:c" "$tmp/elsewhere" || exit 1
printf 'fn main() {\n  let x: int = "a"\n}\n' >"$tmp/proj/sub/bad.weft"
printf 'fn main() { print(1) }\n' >"$tmp/proj/good.weft"
printf 'fn main() { print(1) }\n' >"$tmp/proj/notes.txt"
cp "$tmp/proj/sub/bad.weft" "$tmp/proj/.hidden/skipped.weft"
cp "$tmp/proj/sub/bad.weft" "$tmp/elsewhere/linked.weft"
ln -s "$tmp/elsewhere" "$tmp/proj/link"
# a path with ',' and ':' and a message after a non-ASCII character
printf 'fn main() {\n  let s = "é"; let y: int = s\n}\n' >"$tmp/proj/a,b:c/odd.weft"
cd "$tmp" || exit 1

# a directory: sorted, hidden entries and the symlinked directory skipped
run "$WEFT" check --format=github proj
[ "$rc" = 1 ] || fail "github: exit $rc, expected 1: $err"
expected='::error file=proj/a%2Cb%3Ac/odd.weft,line=2,col=29,endLine=2,endColumn=29,title=E0301 type mismatch::type mismatch: expected int, got string
::error file=proj/sub/bad.weft,line=2,col=16,endLine=2,endColumn=18,title=E0301 type mismatch::type mismatch: expected int, got string'
got=$(printf '%s\n' "$out" | grep -v '^::warning')
[ "$got" = "$expected" ] || fail "github annotations differ:
$got
--- expected
$expected"
printf '%s\n' "$out" | grep -q '^::warning file=proj/sub/bad.weft,line=2,col=7,.*title=W0003 unused variable::unused variable `x`%0Ahelp: ' ||
  fail "github: no warning annotation with its help: $out"
case $out in *skipped*|*linked*) fail "github: a hidden or symlinked directory was walked: $out" ;; esac

# SARIF: valid against the official schema, with the same findings
run "$WEFT" check --format=sarif proj
[ "$rc" = 1 ] || fail "sarif: exit $rc, expected 1"
printf '%s\n' "$out" >log.sarif
python3 - "$TESTDIR/data/sarif-schema-2.1.0.json" log.sarif <<'PY' || fail "sarif log invalid"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
log = json.load(open(sys.argv[2]))
jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(log)
assert log["version"] == "2.1.0", log["version"]
run = log["runs"][0]
assert run["tool"]["driver"]["name"] == "weft"
assert run["columnKind"] == "unicodeCodePoints"
rules = run["tool"]["driver"]["rules"]
res = run["results"]
errs = [r for r in res if r["level"] == "error"]
assert len(errs) == 2, res
for r in res:
    assert rules[r["ruleIndex"]]["id"] == r["ruleId"], r
odd = [r for r in errs if "odd.weft" in r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]][0]
loc = odd["locations"][0]["physicalLocation"]
assert loc["artifactLocation"]["uri"] == "proj/a%2Cb%3Ac/odd.weft", loc
assert loc["region"] == {"startLine": 2, "startColumn": 29, "endLine": 2, "endColumn": 30}, loc
warn = [r for r in res if r["level"] == "warning"][0]
assert "\nhelp: " in warn["message"]["text"], warn
PY

# a clean program gives an empty but valid log, exit 0
run "$WEFT" check --format=sarif proj/good.weft
[ "$rc" = 0 ] || fail "sarif on a clean file: exit $rc"
printf '%s\n' "$out" >clean.sarif
python3 -c 'import json,sys; l=json.load(open("clean.sarif")); assert l["runs"][0]["results"] == []' ||
  fail "clean sarif has results: $out"

# --deny-warnings
printf 'fn main() {\n  let y = 2\n}\n' >warn.weft
run "$WEFT" check warn.weft
[ "$rc" = 0 ] || fail "a warning alone: exit $rc, expected 0"
run "$WEFT" check --deny-warnings warn.weft
[ "$rc" = 1 ] || fail "--deny-warnings: exit $rc, expected 1"
run "$WEFT" check --deny-warnings proj/good.weft
[ "$rc" = 0 ] || fail "--deny-warnings on a clean file: exit $rc"

# --json is --format=json; a bad format is a usage error
run "$WEFT" check --format=json proj/good.weft
[ "$out" = '{"diagnostics":[],"errors":0,"warnings":0,"omitted":0}' ] || fail "--format=json: $out"
run "$WEFT" check --format=xml proj/good.weft
[ "$rc" = 2 ] || fail "--format=xml: exit $rc, expected 2"
case $err in *"text, json, sarif or github"*) ;; *) fail "--format=xml: $err" ;; esac
# an empty directory has nothing wrong with it
mkdir empty
run "$WEFT" check empty
[ "$rc" = 0 ] || fail "empty directory: exit $rc"
exit 0
