# weft do offline: the mock planner writes a program of the fixed
# signature, the plan is shown, --yes runs it, and the run is journaled
# with the program: `weft show` prints it, and a replay runs it again
# without planning.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1
run "$WEFT" do "Say hello to the world" --planner mock/planner --yes --trace "$tmp/t.jsonl"
expect_rc 0 "do --yes"
expect_out "Do this task: Say hello to the world"
# the plan went to stderr, the result alone to stdout
expect_err "── the program (main/generate#1) ──"
expect_err "fn main(task: string, input: json) -> string {"
expect_err "── model calls ──"
expect_err "at most 1 model call"
expect_err "── what it may touch ──"
expect_err "budget: 100 model calls"
expect_err "; planning: 1 call, "
contains "$out" "── the program" && fail "the plan reached stdout: $out"
grep '"ev":"generate"' "$tmp/t.jsonl" | grep -q '"program":"// Written by role planner at main/generate#1' ||
  fail "no generate event with the program in the trace: $(grep generate "$tmp/t.jsonl")"
run "$WEFT" show 1
expect_rc 0 "show"
expect_out "generate#1  planner  mock/planner  ok"
expect_out "the program written at main/generate#1"
expect_out "│ fn main(task: string, input: json) -> string {"
run "$WEFT" runs
expect_out "weft do --planner=mock/planner"
# a replay answers the planner from the journal: the same result, no new plan
run "$WEFT" replay 1 --check --trace "$tmp/r.jsonl"
expect_rc 0 "replay --check"
expect_err "the result matches"
grep '"ev":"generate"' "$tmp/r.jsonl" | grep -q '"from":"journal"' || fail "replay planned again: $(grep generate "$tmp/r.jsonl")"
# the task and the input reach main: --input is JSON when it parses, else text
printf '{"n": 3}' >"$tmp/in.json"
run "$WEFT" do "Use the input" --planner mock/planner --yes --input "$tmp/in.json" --no-journal
expect_rc 0 "do --input json"
expect_out 'Use the input {\"n\":3}'
printf 'plain words\n' >"$tmp/in.txt"
run "$WEFT" do "Use the input" --planner mock/planner --yes --input "$tmp/in.txt" --no-journal
expect_rc 0 "do --input text"
expect_out 'plain words'
exit 0
