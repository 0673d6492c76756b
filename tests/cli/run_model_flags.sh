# weft run's model-call flags: bad values are usage errors (exit 2); the
# summary line goes to stderr unless --quiet; --json carries the stats and,
# on failure, the error; a missing API key fails cleanly without a network
# call; programs without roles print no summary.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1

cat >asker.weft <<'W'
role writer { model: "anthropic/claude-sonnet-4-5" }
role critic { model: "openai/gpt-4o-mini" }
fn main() -> string {
  let a = ask writer "draft"
  let b = ask critic "critique {a}"
  b
}
W
cat >plain.weft <<'W'
fn main() -> int { 1 + 2 }
W

for bad in "--provider bogus" "--model nobody=mock/x" "--model writer" "--model writer=bogus/x" \
           "--model writer=mock/" "--max-concurrency 0" "--timeout 5" "--timeout 0s" "--timeout xs" \
           "--retries -1" "--repairs two" "--mock-script $tmp/missing.json" "--prices $tmp/missing.json"; do
  # shellcheck disable=SC2086
  run "$WEFT" run asker.weft $bad
  expect_rc 2 "weft run $bad"
  expect_no_out "weft run $bad"
  expect_err "weft: "
done
run "$WEFT" run asker.weft --model nobody=mock/x
expect_err "the program has no role 'nobody' (roles: writer, critic)"

echo '{"replies": 3}' >bad_script.json
run "$WEFT" run asker.weft --provider mock --mock-script bad_script.json
expect_rc 2 "malformed mock script"
expect_err "--mock-script"

echo '{"mock/": {"input": "free"}}' >bad_prices.json
run "$WEFT" run asker.weft --provider mock --prices bad_prices.json
expect_rc 2 "malformed price file"
expect_err "--prices"

# Offline run: result on stdout, one summary line on stderr.
run "$WEFT" run asker.weft --provider mock
expect_rc 0 "mock run"
expect_out "mock reply #"
expect_err "weft: 2 calls (0 failed), 0 retries, 0 repairs, "
run "$WEFT" run asker.weft --provider mock --quiet
expect_rc 0 "mock run --quiet"
[ -z "$err" ] || fail "--quiet still printed: $err"

# --json with stats; prices from a file make mock calls cost something.
echo '{"mock/claude": {"input": 1000000, "output": 0}}' >prices.json
run "$WEFT" run asker.weft --provider mock --json --quiet --prices prices.json
expect_rc 0 "mock run --json"
expect_out '"stats":{"calls":2,"failed":0,"attempts":2,"retries":0,"repairs":0,"max_in_flight":1,'
expect_out '"unpriced_models":[]'
contains "$out" '"cost_usd":0,' && fail "--prices did not price mock/claude-sonnet-4-5: $out"

# A missing key fails at once: exit 1, a clear message, no network.
run env -u ANTHROPIC_API_KEY "$WEFT" run asker.weft --json
expect_rc 1 "missing key"
expect_err "error: role writer: ANTHROPIC_API_KEY is not set (needed for anthropic/claude-sonnet-4-5)"
expect_out '{"result":null,"error":"role writer: ANTHROPIC_API_KEY is not set'
expect_out '"stats":{"calls":0,'

# A program without roles: no engine, no summary, --json still works.
run "$WEFT" run plain.weft
expect_rc 0 "plain run"
# (only the run's id, which every journaled run prints)
[ -z "$(printf '%s' "$err" | grep -v '^weft: run [0-9]* (journal ')" ] || fail "a program without roles printed: $err"
run "$WEFT" run plain.weft --json
expect_out '{"result":3,"stats":{"calls":0,'

# Help names the new flags.
run "$WEFT" help run
for f in --provider --model --max-concurrency --timeout --retries --repairs --mock-script --prices \
         --no-stream --quiet --json; do
  expect_out "$f"
done
exit 0
