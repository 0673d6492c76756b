# kill -9 while the planner works, then resume: the plan is made then
# (it never finished). kill -9 while the program runs, then resume: no new
# planning — the program is linked again from the journal — and no
# finished call is made again.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1
prog='role w { model: \"mock/w\" }\n\nfn main(task: string, input: json) -> string {\n  let a = ask w \"first {task}\"\n  let b = ask w \"second {a}\"\n  return b\n}'
cat >s1.json <<EOF_J
{"replies": [{"role": "planner", "reply": "\`\`\`weft\n$prog\n\`\`\`", "delay": "30s"}]}
EOF_J
"$WEFT" do "the task" --planner mock/planner --mock-script s1.json --yes >"$tmp/o1" 2>"$tmp/e1" &
pid=$!
i=0
until "$WEFT" runs 2>/dev/null | grep -q running; do
  i=$((i + 1)); [ $i -lt 100 ] || { kill -9 $pid; fail "the run never started: $(cat "$tmp/e1")"; }
  sleep 0.05
done
sleep 0.2
kill -9 $pid
wait $pid 2>/dev/null
# now the planner answers at once, and the second ask is slow
cat >s2.json <<EOF_J
{"replies": [{"role": "planner", "reply": "\`\`\`weft\n$prog\n\`\`\`"},
             {"role": "w", "match": "second", "reply": "done", "delay": "30s"}]}
EOF_J
"$WEFT" resume 1 --mock-script s2.json >"$tmp/o2" 2>"$tmp/e2" &
pid=$!
i=0
until "$WEFT" show 1 --json 2>/dev/null | grep -q 'ask#2'; do
  i=$((i + 1)); [ $i -lt 100 ] || { kill -9 $pid; fail "the first ask never finished: $(cat "$tmp/e2")"; }
  sleep 0.05
done
kill -9 $pid
wait $pid 2>/dev/null
grep -q "resuming run 1" "$tmp/e2" || fail "the first resume did not resume: $(cat "$tmp/e2")"
# the last resume: nothing planned, the first ask answered from the journal
cat >s3.json <<EOF_J
{"replies": [{"role": "planner", "fail": "bad_request"}, {"role": "w", "match": "second", "reply": "done"},
             {"role": "w", "match": "first", "fail": "bad_request"}]}
EOF_J
run "$WEFT" resume 1 --mock-script s3.json --trace "$tmp/t.jsonl"
expect_rc 0 "the last resume"
expect_out '"done"'
contains "$err" "── the program" && fail "the resume showed a plan (it planned again): $err"
grep '"ev":"generate"' "$tmp/t.jsonl" | grep -q '"from":"journal"' || fail "the program was not linked from the journal"
n=$(grep '"ev":"ask"' "$tmp/t.jsonl" | grep -vc '"from":"journal"')
[ "$n" = 1 ] || fail "$n asks were sent on the last resume, expected 1 (the second)"
exit 0
