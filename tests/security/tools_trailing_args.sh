# A tool call's arguments must be one JSON object and nothing after it:
# bytes past the object (a second object, words) were dropped and the tool
# ran on the part that parsed. The call is answered with an error the model
# reads, the tool does not run, the loop goes on. Through the mock (a
# string `input` is the arguments' text as a model sends it) and through
# both wire formats of the test server, streamed and not.
. "$TESTDIR/../lib/server.sh"
cat >"$tmp/t.weft" <<'EOF_W'
/// Echoes its argument's length.
fn measure(s: string) -> int {
  print("measured {s}")
  len(s)
}
/// Takes nothing.
fn ping() -> string {
  print("pinged")
  "pong"
}

role agent { model: "mock/agent", tools: [measure, ping], max_steps: 3 }

fn main() {
  print(ask agent "Measure things")
}
EOF_W
mock() { # NAME INPUT-AS-JSON-STRING...
  name=$1
  shift
  "$PY" - "$tmp/$name.json" "$@" <<'EOF_P'
import json, sys
calls = [{"name": "ping" if a.startswith("ping:") else "measure", "input": a.split(":", 1)[1]}
         for a in sys.argv[2:]]
json.dump({"replies": [{"role": "agent", "step": 1, "tool_calls": calls},
                       {"role": "agent", "step": 2, "reply": "finished"}]}, open(sys.argv[1], "w"))
EOF_P
  run "$WEFT" run --no-journal --trace "$tmp/$name.trace" --mock-script "$tmp/$name.json" "$tmp/t.weft"
  expect_no_crash "$name"
  expect_rc 0 "$name"
}
# a second object after the first; words after it; a good call beside them
mock two 'm:{"s": "first"}{"s": "second"}' 'm:{"s": "ok"}'
[ "$out" = "measured ok
finished" ] || fail "two objects: $out"
grep '"ev":"step"' "$tmp/two.trace" | tail -n 1 | grep -q 'the arguments of measure must be a JSON object, not' ||
  fail "the call with two objects was not answered with an error: $(cat "$tmp/two.trace")"
mock words 'm:{"s": "a"} and then some'
[ "$out" = "finished" ] || fail "trailing words: $out"
# a tool without parameters is not run on whatever was there either
mock noparams 'ping:{} trailing'
[ "$out" = "finished" ] || fail "a tool without parameters ran on bad arguments: $out"
# white space after the object is no second value: the call runs
mock space 'm:{"s": "spaced"} 
	'
[ "$out" = "measured spaced
finished" ] || fail "trailing white space: $out"

# the test server: the first call's arguments are an object and a second one
cat >"$tmp/loop.weft" <<'EOW'
/// Reads a file of the project and returns its text.
fn read_file(path: string) -> string {
  print("called read_file {path}")
  "contents of {path}"
}
role fixer { model: "MODEL", tools: [read_file], max_steps: 5 }
fn main() {
  let r = ask fixer "Fix the bug in a.c"
  print("answered: {len(r) > 0}")
}
EOW
for p in anthropic openai; do
  for mode in "" --no-stream; do
    sed "s#MODEL#$p/fault-tooltrailing-1+tools-2#" "$tmp/loop.weft" >"$tmp/l.weft"
    reset_stats
    run "$WEFT" run --no-journal $mode "$tmp/l.weft"
    expect_rc 0 "$p $mode trailing"
    expect_out "answered: true"
    contains "$out" "/etc/passwd" && fail "$p $mode: the second object reached the tool: $out"
    n=$(printf '%s\n' "$out" | grep -c "called read_file")
    [ "$n" = 1 ] || fail "$p $mode: the tool ran $n times, not 1 (the call with trailing bytes must not run): $out"
    [ "$(attempts)" = 3 ] || fail "$p $mode: $(attempts) requests, not 3"
  done
done
exit 0
