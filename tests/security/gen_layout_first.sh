# A planner's reply is laid out (weft fmt) before it is compiled, so the
# formatter sees hostile text first: brackets nested past every limit,
# an unterminated string with controls and a bidi override, strings
# interpolated inside strings thousands deep ending in a backslash, and a reply
# over the 256 KiB cap. Each fails cleanly (exit 1, no crash) with the
# compiler's diagnostics at the lines the planner wrote, not those of the
# layout (which starts with a comment naming the planner).
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1
python3 - <<'EOF_PY' || fail "cannot write the mock scripts"
import json
head = "```weft\nfn main(task: string, input: json) -> string {\n"
cases = {
    "deep": head + "  return " + "(" * 20000 + "1" + ")" * 5 + "\n}\n```",
    "unclosed": head + "  return \"never closed {task\n  {{{{ [[[ \u202e\x01\n",
    "interp": head + "  return \"" + "{\"" * 3000 + "x\\\n}\n```",
    "big": "```weft\n" + ("// " + "x" * 100 + "\n") * 2700
           + "fn main(task: string, input: json) -> string { task }\n```",
}
for name, reply in cases.items():
    with open(name + ".json", "w") as f:
        json.dump({"replies": [{"role": "planner", "reply": reply}]}, f)
EOF_PY
check() { # NAME WHAT...: the run fails with each WHAT in its diagnostics
  name=$1
  shift
  run "$WEFT" do "t" --planner mock/planner --mock-script "$name.json" --yes --repairs 1 --no-journal
  expect_rc 1 "$name"
  expect_err "no program that compiles after 2 attempts"
  for w in "$@"; do expect_err "$w"; done
}
check deep '"code":"E0103"' '"line":2,"column":1009'
check unclosed '"code":"E0101"' '"line":3,"column":3'
check interp '"code":"E0103"' '"line":2,"column":2008'
check big '"code":"E0104"' 'source too large'
exit 0
