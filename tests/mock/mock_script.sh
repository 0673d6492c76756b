# Mock scripts from the outside: bad entries are refused before anything
# runs, naming the entry and the field; `first K` cancels the calls whose
# answers are delayed (the trace says so, and the run does not wait for
# them); retries show in the trace and in `weft show`; a mock failure is
# journaled with its kind, replayed with it, and asked again on resume.
. "$TESTDIR/../lib/common.sh"
J="$tmp/j.db"

cat >"$tmp/one.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() { print(ask r "hello") }
EOF_W

# refuse SCRIPT WANT: the script is refused (exit 2, no run) with WANT.
refuse() {
  printf '%s\n' "$1" >"$tmp/bad.json"
  run "$WEFT" run "$tmp/one.weft" --mock-script "$tmp/bad.json" --journal "$J"
  expect_rc 2 "script $1"
  expect_err "$2"
  expect_no_out "script $1"
  [ ! -e "$J" ] || fail "script $1: a run was journaled"
}
refuse '{"replies": [{"reply": "x", "tiems": 2}]}' '$.replies[0]: unknown field "tiems"'
refuse '{"replies": [{"reply": "x"}, {"fail": "teapot"}]}' '$.replies[1].fail: must be one of bad_request, auth,'
refuse '{"replies": [{"fail": 429}]}' '$.replies[0].fail: must be one of'
refuse '{"replies": [{"reply": "x", "delay": 200}]}' '$.replies[0].delay: must be a duration such as "200ms"'
refuse '{"replies": [{"reply": "x", "delay": "soon"}]}' '$.replies[0].delay: must be a duration'
refuse '{"replies": [{"reply": "x", "delay": "2h"}]}' '$.replies[0].delay: must be a duration such as "200ms" or "2s" (at most 1h)'
refuse '{"replies": [{"reply": "x", "delay": "-5ms"}]}' '$.replies[0].delay: must be a duration'
refuse '{"replies": [{"reply": "x", "retry_after": "1s"}]}' '$.replies[0].retry_after: is a provider'"'"'s answer to a failed request'
refuse '{"replies": [{"fail": "timeout", "retry_after": "1s"}]}' '$.replies[0].retry_after: is a provider'
refuse '{"replies": [{"fail": "auth", "retry_after": "later"}]}' '$.replies[0].retry_after: must be a duration'
refuse '{"replies": [{"reply": "x", "fail": "auth"}]}' '$.replies[0]: needs exactly one of "reply", "value", "fail", "tool_calls" or "echo"'
refuse '{"replies": [{"times": 1}]}' '$.replies[0]: needs exactly one of'
refuse '{"replies": [{"reply": "x", "times": "2"}]}' '$.replies[0].times: must be a whole number'
refuse '{"replies": [], "comment": "x"}' 'must hold {"replies": [...]} and nothing else'
# a field name is quoted as JSON, so it cannot write to the terminal
refuse '{"replies": [{"reply": "x", "\u001b[2Jboom": 1}]}' 'unknown field "\u001b[2Jboom"'
contains "$err" "$(printf '\033')" && fail "an escape character reached stderr"

# ---- first 2 of 4: the delayed calls are cancelled, not waited for ---------------
cat >"$tmp/first.json" <<'EOF_J'
{"replies": [
  {"match": "q0", "reply": "slow", "delay": "20s"},
  {"match": "q1", "reply": "fast one", "delay": "20ms"},
  {"match": "q2", "reply": "slow", "delay": "20s"},
  {"match": "q3", "reply": "fast three"}
]}
EOF_J
cat >"$tmp/first.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() {
  let t = fanout i in range(4) { ask r "q{i}" }
  print(barrier t first 2)
}
EOF_W
start=$(date +%s)
run "$WEFT" run "$tmp/first.weft" --mock-script "$tmp/first.json" --no-journal --trace "$tmp/first.jsonl"
took=$(($(date +%s) - start))
expect_rc 0 "first 2"
[ "$out" = '["fast one","fast three"]' ] || fail "first 2 gave $out"
[ "$took" -lt 15 ] || fail "first 2 waited ${took}s for the cancelled calls"
statuses=$(python3 -c 'import json, sys
print(" ".join(sorted(e["addr"][-9:-6] + e["status"] for e in map(json.loads, open(sys.argv[1])) if e["ev"] == "ask")))' "$tmp/first.jsonl")
[ "$statuses" = "[0]cancelled [1]ok [2]cancelled [3]ok" ] || fail "first 2: asks in the trace: $statuses"

# ---- retries: the trace and weft show count the attempts ------------------------
cat >"$tmp/retry.json" <<'EOF_J'
{"replies": [
  {"fail": "server_error", "retry_after": "5ms", "times": 1},
  {"fail": "rate_limited", "retry_after": "5ms", "times": 1},
  {"reply": "third time"}
]}
EOF_J
run "$WEFT" run "$tmp/one.weft" --mock-script "$tmp/retry.json" --journal "$J" --trace "$tmp/retry.jsonl"
expect_rc 0 "retry"
[ "$out" = "third time" ] || fail "retry gave $out"
expect_err "1 call (0 failed), 2 retries"
contains "$(cat "$tmp/retry.jsonl")" '"attempts":3,"retries":2,"repairs":0,"status":"ok"' ||
  fail "retry: the trace's ask: $(cat "$tmp/retry.jsonl")"
run "$WEFT" show 1 --journal "$J"
expect_rc 0 "show the retried run"
expect_out "3 attempts"

# ---- a failure is journaled with its kind, replayed alike, asked again on resume -----
cat >"$tmp/tol.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() {
  let t = fanout i in range(3) { ask r "item {i}" }
  let j = barrier t tolerate 2
  print(j.ok)
  for f in j.failed { print("{f.branch} {f.kind}: {f.message}") }
}
EOF_W
cat >"$tmp/tol.json" <<'EOF_J'
{"replies": [
  {"match": "item 1", "fail": "forbidden"},
  {"match": "item 2", "reply": "late", "delay": "5s"},
  {"reply": "fine"}
]}
EOF_J
WANT='["fine"]
1 error: ask r (mock/m): HTTP 403: forbidden (--mock-script $.replies[0])
2 timeout: ask r (mock/m): the request timed out after 100 ms (the mock'"'"'s answer was due after 5000 ms)'
run "$WEFT" run "$tmp/tol.weft" --mock-script "$tmp/tol.json" --journal "$J" --timeout 100ms --retries 0
expect_rc 0 "tolerate"
[ "$out" = "$WANT" ] || fail "tolerate gave $out"
run "$WEFT" show 2 --journal "$J" --json
contains "$out" '"error_kind":"timeout"' || fail "show: the timed-out ask's kind in $out"
contains "$out" '"error_kind":"error"' || fail "show: the refused ask's kind in $out"
run "$WEFT" replay 2 --journal "$J"
expect_rc 0 "replay of the failures"
[ "$out" = "$WANT" ] || fail "replay gave $out"
expect_err "3 calls (2 failed, 3 replayed)"
# a failed run, resumed: its failed ask is asked again, with the script
# named again on the command line
printf '{"replies": [{"fail": "auth"}]}\n' >"$tmp/auth.json"
run "$WEFT" run "$tmp/one.weft" --mock-script "$tmp/auth.json" --journal "$J"
expect_rc 1 "a non-retryable failure"
expect_err "HTTP 401: auth (--mock-script \$.replies[0])"
run "$WEFT" show 3 --journal "$J" --json
contains "$out" '"error_kind":"error","served":false,"attempts":1,' || fail "show: the failed ask in $out"
run "$WEFT" resume 3 --journal "$J"
expect_rc 2 "resume without the script"
expect_err "name the file again (--mock-script FILE)"
printf '{"replies": [{"reply": "fine"}]}\n' >"$tmp/fixed.json"
run "$WEFT" resume 3 --journal "$J" --mock-script "$tmp/fixed.json"
expect_rc 0 "resume with a script that answers"
[ "$out" = "fine" ] || fail "resume gave $out"
exit 0
