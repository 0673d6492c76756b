# weft save writes the program the run's plan was, and only the files the
# user named: for a `weft do` run the program is the driver's generate
# (main/generate#1), not a nested one whose address sorts first; --test
# of a nested program is refused; a planted link where the test or the
# cassette (or its temporary file) goes is never written through.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1
cat >s.json <<'EOF_J'
{"replies": [
  {"role": "planner", "match": "inner", "reply": "```weft\nfn main(x: string) -> string {\n  return \"INNER \" + x\n}\n```"},
  {"role": "planner", "reply": "```weft\nrole planner { model: \"mock/planner\" }\n\nfn main(task: string, input: json) -> string {\n  let r = barrier fanout t in [task] { (generate fn(x: string) -> string by planner \"inner\")(t) }\n  return \"OUTER \" + r[0]\n}\n```"}
]}
EOF_J
run "$WEFT" do "outer task" --planner mock/planner --mock-script s.json --yes --budget-calls 20
expect_rc 0 "do with a nested generate"
expect_out "OUTER INNER outer task"
# the plan's program, although main/fanout#2@…/generate#1 sorts before it
run "$WEFT" save 1 "$tmp/t.weft" --test
expect_rc 0 "save --test"
grep -q "OUTER" "$tmp/t.weft" || fail "save kept a nested program, not the plan: $(cat "$tmp/t.weft")"
grep -q '"outer task"' "$tmp/t.test.json" || fail "the test does not hold the run's inputs"
# the nested program may be saved by its address, but not as the run's test
addr=$("$WEFT" show 1 --json | python3 -c 'import json,sys
d=json.load(sys.stdin)
def walk(x):
    if isinstance(x, dict):
        for k, v in x.items():
            if isinstance(v, str) and "fanout" in v and v.endswith("generate#1"): print(v); return True
            if walk(v): return True
    elif isinstance(x, list):
        return any(walk(v) for v in x)
walk(d)' | head -1)
[ -n "$addr" ] || fail "no nested generate address in show --json"
run "$WEFT" save 1 "$tmp/n.weft" --at "$addr"
expect_rc 0 "save --at the nested program"
grep -q "INNER" "$tmp/n.weft" || fail "--at did not save the nested program"
run "$WEFT" save 1 "$tmp/n2.weft" --at "$addr" --test
expect_rc 2 "--test of a nested program"
[ -e "$tmp/n2.test.json" ] && fail "a test was written for a nested program"
# planted dangling links: nothing is written through them
mkdir -p "$tmp/elsewhere"
ln -s "$tmp/elsewhere/a" "$tmp/u.test.json"
run "$WEFT" save 1 "$tmp/u.weft" --test
[ -e "$tmp/elsewhere/a" ] && fail "the test was written through a link: $err"
expect_rc 2 "a link where the test goes"
ln -s "$tmp/elsewhere/b" "$tmp/v.cassette.json.tmp"
run "$WEFT" save 1 "$tmp/v.weft" --test
[ -e "$tmp/elsewhere/b" ] && fail "the cassette was written through its temporary file's link: $err"
ln -s "$tmp/elsewhere/c" "$tmp/w.cassette.json"
run "$WEFT" save 1 "$tmp/w.weft" --test
[ -e "$tmp/elsewhere/c" ] && fail "the cassette was written through a link: $err"
expect_rc 2 "a link where the cassette goes"
exit 0
