# The plan is shown before anything runs: --plan-only prints it on stdout
# and stops (exit 0), no terminal and no --yes stops too (exit 2), and in
# neither case does the program's own ask happen or the program reach the
# journal as a finished effect. Usage errors are exit 2.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1
run "$WEFT" do "Count the words" --planner mock/planner --plan-only
expect_rc 0 "--plan-only"
expect_out "── the program (main/generate#1) ──"
expect_out "//   Count the words"
expect_out "flowchart TD"
expect_err "--plan-only: the plan is above; nothing ran"
contains "$err" "error:" && fail "--plan-only printed an error: $err"
run "$WEFT" show 1
expect_out "not run: --plan-only"
contains "$out" "ask#2" && fail "the program ran under --plan-only: $out"
# stdin is not a terminal here (run reads /dev/null)
run "$WEFT" do "Count the words" --planner mock/planner
expect_rc 2 "no terminal, no --yes"
expect_err "no terminal to ask on; give --yes"
expect_err "── the program (main/generate#1) ──"
expect_no_out "no terminal"
run "$WEFT" show 2
contains "$out" "ask#2" && fail "the program ran without approval: $out"
# a resume of a run stopped before approval asks again (and is refused
# again without a terminal): nothing unapproved ever runs
run "$WEFT" resume 2
expect_rc 2 "resume of an unapproved plan"
expect_err "no terminal to ask on"
run "$WEFT" show 2
contains "$out" "ask#2" && fail "the resume ran an unapproved program: $out"
# usage
run "$WEFT" do --planner mock/planner --yes
expect_rc 2 "no task"
expect_err "give the task as one argument"
run "$WEFT" do "t" --planner mock/planner --yes --plan-only
expect_rc 2 "--yes with --plan-only"
run "$WEFT" do "t" --planner 'mock/x" }' --yes
expect_rc 2 "a planner that is not a model name"
expect_err "is not a model"
run "$WEFT" do "" --planner mock/planner --yes
expect_rc 2 "an empty task"
run "$WEFT" do "t" --planner mock/planner --yes --input "$tmp/nope.json"
expect_rc 2 "an unreadable --input"
exit 0
