# A generated program is text people read (the plan, `weft save`'s
# template, a diff of it): one holding a terminal control character — ESC
# or a C1 control, in a comment or a string, which the compiler lets
# through — goes back to the planner; a planted journal record holding one
# is neither run on resume nor written by `weft save`.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1
cat >g.weft <<'EOF_W'
role planner { model: "mock/planner" }

fn main(x: string) -> string {
  let g = generate fn(x: string) -> string by planner "do it"
  return g(x)
}
EOF_W
python3 - <<'EOF_P'
import json
ok = "fn main(x: string) -> string {\n  return \"fine \" + x\n}\n"
bad = {"comment": "fn main(x: string) -> string {\n  // hi \u001b[1A\u001b[2K\n  return x\n}\n",
       "string": "fn main(x: string) -> string {\n  return \"a\u001b]0;t\u0007b\" + x\n}\n",
       "cr": "fn main(x: string) -> string {\n  return x // harmless\r  let y = 1\n}\n",
       "c1": "fn main(x: string) -> string {\n  // \u009b2J\n  return x\n}\n"}
for k, v in bad.items():
    json.dump({"replies": [{"role": "planner", "reply": "```weft\n" + v + "```"}]}, open("bad_%s.json" % k, "w"))
json.dump({"replies": [{"role": "planner", "times": 1, "reply": "```weft\n" + bad["comment"] + "```"},
                       {"role": "planner", "reply": "```weft\n" + ok + "```"}]}, open("repair.json", "w"))
EOF_P
for k in comment string cr c1; do
  run "$WEFT" run g.weft --arg x=hi --mock-script "bad_$k.json" --repairs 0 --no-journal
  expect_rc 1 "a control character ($k)"
  expect_err "control character"
  expect_no_crash "$k"
done
run "$WEFT" run g.weft --arg x=hi --mock-script repair.json --no-journal
expect_rc 0 "repaired after a control character"
expect_out "fine hi"
# a planted record: the clean program's record edited to hold ESC
run "$WEFT" do "the task" --planner mock/planner --yes
expect_rc 0 "do"
python3 - <<'EOF_P'
import sqlite3
import os
c = sqlite3.connect(os.environ["WEFT_JOURNAL"])
r = c.execute("select response from effects where addr='main/generate#1'").fetchone()[0]
c.execute("update effects set response=? where addr='main/generate#1'", (r.replace("fn main", "// \u001b[2K\nfn main", 1),))
c.commit()
EOF_P
run "$WEFT" save 1 "$tmp/t.weft"
expect_rc 2 "save of a planted record with ESC"
expect_err "control character"
[ -e "$tmp/t.weft" ] && fail "the planted program was written: $(od -c "$tmp/t.weft" | head -3)"
run "$WEFT" replay 1
expect_rc 1 "replay of a planted record with ESC"
expect_err "control character"
exit 0
