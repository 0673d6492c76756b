# The planner repairs from the compiler's diagnostics: a program right the
# first time runs with no repair; one that needs two repairs runs after
# them, each bad program answered with its diagnostics as JSON; one that
# never compiles fails after --repairs + 1 attempts with the last
# diagnostics shown, at the lines the planner wrote.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1
good='```weft\nrole w { model: \"mock/w\" }\n\nfn main(task: string, input: json) -> string {\n  return ask w \"chars: {len(task)}\"\n}\n```'
cat >s1.json <<EOF_J
{"replies": [{"role": "planner", "reply": "$good"}]}
EOF_J
run "$WEFT" do "one two three" --planner mock/planner --mock-script s1.json --yes
expect_rc 0 "right first time"
expect_out "chars: 13"
expect_err "0 repairs"
cat >s2.json <<EOF_J
{"replies": [
  {"role": "planner", "times": 1, "reply": "\`\`\`weft\nfn main(task: string, input: json) -> string {\n  return 42\n}\n\`\`\`"},
  {"role": "planner", "times": 1, "reply": "fn main(task: string, input: json) -> int { 1 }"},
  {"role": "planner", "reply": "$good"}
]}
EOF_J
run "$WEFT" do "one two" --planner mock/planner --mock-script s2.json --yes --trace "$tmp/t.jsonl"
expect_rc 0 "two repairs"
expect_out "chars: 7"
expect_err "2 repairs"
grep '"ev":"generate"' "$tmp/t.jsonl" | grep -q '"repairs":2' || fail "the trace does not count 2 repairs"
cat >s3.json <<EOF_J
{"replies": [{"role": "planner", "reply": "\`\`\`weft\nfn main(task: string, input: json) -> string {\n  return nope\n}\n\`\`\`"}]}
EOF_J
run "$WEFT" do "t" --planner mock/planner --mock-script s3.json --yes --repairs 2
expect_rc 1 "never compiles"
expect_err "no program that compiles after 3 attempts"
expect_err '"code":"E0201"'
expect_err 'unknown name `nope`'
expect_err '"source":"  return nope"'
# the lines are the planner's own, not those of the canonical layout that
# is compiled first (it starts with a comment naming the planner)
expect_err '"line":2,"column":10'
exit 0
