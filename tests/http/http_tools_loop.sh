# A tool-calling loop end to end against the test server, for both wire
# formats, streamed and not: the server checks every request the way the
# real APIs do (a tool_result answering no tool_use, an assistant
# tool_calls message without its tool messages, a bad tool name are 400s),
# so a conversation the engine builds wrongly fails the run. A bad call
# from the model (cut JSON, an unknown tool) is answered as an error turn
# and the loop goes on.
. "$TESTDIR/../lib/server.sh"

loop_prog() { # MODEL -> a program whose role uses MODEL
  cat >"$tmp/loop.weft" <<EOW
/// Reads a file of the project and returns its text.
fn read_file(path: string) -> string {
  print("called read_file")
  "contents of {path}"
}

role fixer {
  model: "$1",
  tools: [read_file],
  max_steps: 5,
}

fn main() {
  let r = ask fixer "Fix the bug in a.c"
  print("answered: {len(r) > 0}")
}
EOW
  echo "$tmp/loop.weft"
}

calls_in() { printf '%s\n' "$out" | grep -c "called read_file"; }

for p in anthropic openai; do
  for mode in "" --no-stream; do
    # two steps of calls, then the answer: three requests, two tool runs
    reset_stats
    run "$WEFT" run --no-journal $mode "$(loop_prog "$p/tools-2")"
    expect_rc 0 "$p $mode tools-2"
    expect_out "answered: true"
    [ "$(calls_in)" = 2 ] || fail "$p $mode: the tool ran $(calls_in) times, not 2"
    [ "$(attempts)" = 3 ] || fail "$p $mode: $(attempts) requests, not 3 (two steps of calls and the answer)"

    # text before the calls is kept in the assistant turn the server checks
    run "$WEFT" run --no-journal $mode "$(loop_prog "$p/tools-1+tooltext")"
    expect_rc 0 "$p $mode tooltext"
    [ "$(calls_in)" = 1 ] || fail "$p $mode tooltext: the tool ran $(calls_in) times"

    # a call with cut JSON arguments, then a good one: the first is answered
    # as an error turn (the server accepts the conversation), the tool runs once
    for f in toolbadjson toolunknown toolarray; do
      reset_stats
      run "$WEFT" run --no-journal $mode "$(loop_prog "$p/fault-$f-1+tools-2")"
      expect_rc 0 "$p $mode $f"
      expect_out "answered: true"
      [ "$(calls_in)" = 1 ] || fail "$p $mode $f: the tool ran $(calls_in) times, not 1 (the bad call must not run)"
      [ "$(attempts)" = 3 ] || fail "$p $mode $f: $(attempts) requests, not 3"
    done
  done
done

# a model that keeps calling tools past max_steps fails with kind steps
run "$WEFT" run --no-journal "$(loop_prog "anthropic/tools-9")"
expect_rc 1 "tools-9 under max_steps 5"
expect_err "steps"
