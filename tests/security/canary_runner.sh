# The test runner itself gives every test canary API keys and fails any test
# whose output shows one (whole, its first 8 characters, masked, base64),
# whatever the test checked: so the whole suite is a canary run. Here the
# runner is pointed at a suite of leaky scripts and must fail each of them.
. "$TESTDIR/../lib/common.sh"
RUNNER=$(dirname "$WEFT")/tests/runner
[ -x "$RUNNER" ] || fail "no test runner beside $WEFT"
mkdir -p "$tmp/suite/cli"
cd "$tmp/suite/cli" || exit 1
echo 'echo "key: $ANTHROPIC_API_KEY"' >whole.sh
echo 'k=$OPENAI_API_KEY; echo "invalid key ${k%"${k#????????}"}***${k#"${k%????}"}" >&2' >masked.sh
echo 'printf "x:%s" "$ANTHROPIC_API_KEY" | base64 -w0' >base64.sh
echo 'k=$OPENAI_API_KEY; echo "prefix ${k%"${k#????????}"}"' >prefix.sh
echo 'echo "no key here; sk-ant-api03 is a prefix all keys share"' >clean.sh
run "$RUNNER" --weft "$WEFT" --root "$tmp/suite"
expect_rc 1 "the runner over leaky scripts"
contains "$out" "1 passed, 4 failed" || fail "expected 1 passed, 4 failed; got: $out"
for t in whole masked base64 prefix; do
  contains "$out" "FAIL $tmp/suite/cli/$t.sh: a canary API key appears in" ||
    contains "$out" "cli/$t.sh: a canary API key appears in" || fail "$t.sh was not caught: $out"
done
exit 0
