# A malformed test file is refused before any test runs (exit 2, one
# message naming the file and where in it): unknown keys at every level
# (a misspelt expectation must not pass unchecked), a key given twice,
# wrong types, a missing program or expectation, an absolute path, a mock
# and a cassette together, not JSON, a NUL byte, an empty list. A program
# that does not compile fails its test with the compiler's diagnostics.
. "$TESTDIR/../lib/common.sh"
cp "$DATA/review.weft" "$DATA/review.mock.json" "$tmp/"
T="$tmp/b.test.json"
base='"program": "review.weft", "args": {"change": "x"}, "mock": "review.mock.json"'
# refused JSON WORDS...: the file holding JSON is refused with WORDS.
refused() {
  printf '%s\n' "$1" >"$T"
  shift
  run "$WEFT" test "$T"
  expect_no_crash "weft test of $(cat "$T")"
  expect_rc 2 "weft test of $(cat "$T")"
  expect_no_out "a refused test file"
  [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "not one line: $err"
  expect_err "weft: test: $T: "
  for w in "$@"; do expect_err "$w"; done
}
refused "{$base, \"expcet\": {}}" '$: unknown key "expcet" (known: name, program,'
refused "{$base, \"expect\": {\"reslt\": 1}}" '$.expect: unknown key "reslt" (known: result, result_contains,'
refused "[{$base, \"expect\": {}}, {$base, \"expect\": {\"error\": {\"knd\": \"x\"}}}]" '$[1].expect.error: unknown key "knd"'
refused "{$base, \"expect\": {}, \"expect\": {}}" 'key "expect" appears twice'
refused "{\"args\": {}, \"expect\": {}}" '$: no "program"'
refused "{$base}" 'no "expect"'
refused "{\"program\": \"/etc/passwd.weft\", \"expect\": {}}" '"program" must be relative to the test file'
refused "{\"program\": \"../../etc/passwd\", \"expect\": {}}" '"program" must name a .weft or .weftc file'
refused "{\"program\": 7, \"expect\": {}}" '"program" must be a file name'
refused "{$base, \"cassette\": \"c.json\", \"expect\": {}}" 'a "mock" script or a "cassette", not both'
refused "{$base, \"expect\": {\"calls\": -1}}" '"calls" must be a whole number >= 0'
refused "{$base, \"expect\": {\"calls\": 1.5}}" '"calls" must be a whole number >= 0'
refused "{$base, \"expect\": {\"max_cost_usd\": \"free\"}}" '"max_cost_usd" must be a number >= 0'
refused "{$base, \"expect\": {\"roles\": [1]}}" '"roles" must be a list of role names'
refused "{$base, \"expect\": {\"models\": {}}}" '"models" must be a list'
refused "{$base, \"expect\": {\"result\": 1, \"error\": {}}}" '"error" and a result cannot both be expected'
refused "{\"program\": \"review.weft\", \"cassette\": \"c.json\", \"provider\": \"nowhere\", \"expect\": {}}" '"provider" must name a provider'
# a test without a cassette never leaves the mock provider
refused "{$base, \"provider\": \"anthropic\", \"expect\": {}}" '"provider" is for a test with a "cassette"'
refused "{\"program\": \"review.weft\", \"provider\": \"openai\", \"expect\": {}}" '"provider" is for a test with a "cassette"'
refused "{$base, \"name\": \"two\\nlines\", \"expect\": {}}" '"name" must be a one-line string'
refused "{\"program\": \"review.weft\", \"args\": [], \"expect\": {}}" '"args" must be an object'
refused "[]" "holds no test"
refused "7" "must hold a test (an object) or a list of tests"
refused "{$base, \"expect\": {}" "not JSON"
printf '{"program": "review.weft", "expect": {}}\0junk' >"$T"
run "$WEFT" test "$T"
expect_rc 2 "a NUL byte"
expect_err "it holds a NUL byte"
run "$WEFT" test "$tmp/none.test.json"
expect_rc 2 "a missing test file"
expect_err "cannot read it: No such file or directory"

# one bad file among good ones: nothing runs
printf '{%s, "expect": {}}\n' "$base" >"$tmp/good.test.json"
printf '{%s, "expect": {"oops": 1}}\n' "$base" >"$tmp/bad.test.json"
run "$WEFT" test "$tmp/good.test.json" "$tmp/bad.test.json"
expect_rc 2 "a bad file among good ones"
expect_no_out "a bad file among good ones"

# a program that does not compile: its diagnostics in the failure
printf 'fn main() -> int {\n  let x: int = "no"\n  x\n}\n' >"$tmp/broken.weft"
printf '{"program": "broken.weft", "expect": {"result": 1}}\n' >"$T"
run "$WEFT" test "$T"
expect_rc 1 "a program that does not compile"
expect_out "the run did not start"
expect_out "broken.weft:2:"
expect_out "error[E0"
run "$WEFT" test --format=junit "$T"
expect_rc 1 "a program that does not compile, JUnit"
expect_out "error[E0"
printf '{"program": "missing.weft", "expect": {}}\n' >"$T"
run "$WEFT" test "$T"
expect_rc 1 "a program that does not exist"
expect_out "missing.weft"
