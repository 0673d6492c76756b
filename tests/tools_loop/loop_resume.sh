# A resume continues a conversation mid-way: a run killed while its model
# is on the loop's second step resumes with the first step answered from
# the journal (never sent again) and finishes the loop. The tool the first
# step called runs again on resume (it is Weft code; what it did through
# effects would be answered from the journal too).
. "$TESTDIR/../lib/common.sh"
cat >"$tmp/r.weft" <<'EOF_W'
/// Adds two integers.
fn add(a: int, b: int) -> int {
  a + b
}

role fixer { model: "mock/fixer", tools: [add], max_steps: 4 }

fn main() -> string {
  ask fixer "Add 2 and 40"
}
EOF_W
# first the script makes step 2 slow, so the run can be killed there
cat >"$tmp/s.json" <<'EOF_J'
{"replies": [
  {"role": "fixer", "step": 1, "tool_calls": [{"name": "add", "input": {"a": 2, "b": 40}}]},
  {"role": "fixer", "step": 2, "reply": "the sum is 42", "delay": "30s"}
]}
EOF_J
"$WEFT" run --mock-script "$tmp/s.json" "$tmp/r.weft" >"$tmp/out1" 2>"$tmp/err1" &
pid=$!
i=0
until "$WEFT" show 1 --json 2>/dev/null | grep -q 'step#1'; do
  i=$((i + 1))
  [ $i -lt 100 ] || { kill -9 $pid; fail "step 1 never reached the journal: $(cat "$tmp/err1")"; }
  sleep 0.05
done
kill -9 $pid
wait $pid 2>/dev/null
# now step 2 answers at once; step 1 must not be asked again
cat >"$tmp/s.json" <<'EOF_J'
{"replies": [
  {"role": "fixer", "step": 1, "fail": "bad_request"},
  {"role": "fixer", "step": 2, "reply": "the sum is 42"}
]}
EOF_J
run "$WEFT" resume 1 --mock-script "$tmp/s.json" --trace "$tmp/trace.jsonl"
expect_rc 0 "resume: $out"
contains "$out" "the sum is 42" || fail "resume gave: $out"
grep '"ev":"step"' "$tmp/trace.jsonl" | grep 'step#1' | grep -q '"from":"journal"' ||
  fail "step 1 was not answered from the journal: $(grep '"ev":"step"' "$tmp/trace.jsonl")"
n=$(grep '"ev":"step"' "$tmp/trace.jsonl" | grep -vc '"from":"journal"')
[ "$n" = 1 ] || fail "$n steps were sent on resume, expected 1"
# the journal holds both steps, as steps
run "$WEFT" show 1 --json
contains "$out" 'step#1' || fail "show: no step#1: $out"
exit 0
