# Hostile tool calls from a model: megabytes of arguments, hundreds of calls
# in one turn, names and ids full of control characters, arguments nested
# hundreds of levels deep. Each is answered with an error the model reads
# (and may repair); the tool never runs on them, the loop goes on and the
# run ends cleanly with the model's answer. (docs/security.md, "Tool calls
# from a model")
. "$TESTDIR/../lib/common.sh"
cat >"$tmp/t.weft" <<'EOF_W'
/// Echoes its argument's length.
fn measure(s: string) -> int {
  print("measured {len(s)}")
  len(s)
}

role agent { model: "mock/agent", tools: [measure], max_steps: 3 }

fn main() {
  print(ask agent "Measure things")
}
EOF_W
python3 - "$tmp" <<'EOF_P'
import json, sys
tmp = sys.argv[1]
def script(calls):
    return {"replies": [
        {"role": "agent", "step": 1, "tool_calls": calls},
        {"role": "agent", "step": 2, "reply": "finished"}]}
big = "x" * (2 << 20)
json.dump(script([{"name": "measure", "input": {"s": big}},
                  {"name": "measure", "input": {"s": "ok"}}]), open(tmp + "/big.json", "w"))
json.dump(script([{"name": "measure", "input": {"s": "n%d" % i}} for i in range(300)]),
          open(tmp + "/many.json", "w"))
json.dump(script([{"name": "measure\u001b[2J\u202e", "input": {"s": "a"}},
                  {"name": "measure", "input": {"s": "b"}}]), open(tmp + "/names.json", "w"))
deep = "[" * 480 + '"x"' + "]" * 480
text = json.dumps(script([{"name": "measure", "input": {"s": "DEEP"}},
                          {"name": "measure", "input": {"s": "ok"}}]))
open(tmp + "/deep.json", "w").write(text.replace('"DEEP"', deep))
EOF_P

# megabytes of arguments: refused before they are parsed, the small call runs
run "$WEFT" run --no-journal --trace "$tmp/big.trace" --mock-script "$tmp/big.json" "$tmp/t.weft"
expect_rc 0 "big arguments"
[ "$out" = "measured 2
finished" ] || fail "big arguments: $out"

# 300 calls in one turn: 64 run, the rest are told to wait for the next step
run "$WEFT" run --no-journal --trace "$tmp/many.trace" --mock-script "$tmp/many.json" "$tmp/t.weft"
expect_rc 0 "many calls: $err"
n=$(printf '%s\n' "$out" | grep -c '^measured')
[ "$n" = 64 ] || fail "$n of 300 calls ran, expected 64"
grep '"ev":"step"' "$tmp/many.trace" | tail -n 1 | grep -q 'one step may make at most 64 tool calls' ||
  fail "the calls past 64 were not answered"

# a name with terminal escapes and bidi controls: no such tool, nothing printed raw
run "$WEFT" run --no-journal --trace "$tmp/names.trace" --mock-script "$tmp/names.json" "$tmp/t.weft"
expect_rc 0 "hostile names"
[ "$out" = "measured 1
finished" ] || fail "hostile names: $out"
grep '"ev":"step"' "$tmp/names.trace" | tail -n 1 | grep -q 'there is no tool measure' ||
  fail "the hostile name was not answered"
printf '%s%s' "$out" "$err" | grep -q "$(printf '\033')" && fail "an escape reached the terminal"

# arguments nested 480 deep where a string belongs: a type error for that call
run "$WEFT" run --no-journal --trace "$tmp/deep.trace" --mock-script "$tmp/deep.json" "$tmp/t.weft"
[ "$rc" -lt 128 ] || fail "deep arguments crashed weft (rc $rc)"
expect_rc 0 "deep arguments: $err"
[ "$out" = "measured 2
finished" ] || fail "deep arguments: $out"
exit 0
