# Every step of a loop sends the whole conversation so far, in order, each
# turn once: the engine parses only the turns a step appended to the text
# of the step before, and copies the rest from what it kept. The test
# server's "history" model names each step's tool arguments "step N" and
# answers with every tool result it was sent, in order, so a lost,
# repeated or reordered turn changes the answer. Checked for many loops at
# once (more than the engine keeps: some steps parse their text whole),
# for both wire formats, and for a run killed mid-loop and resumed (its
# first steps answered from the journal, the rest sent from a fresh
# engine).
. "$TESTDIR/../lib/server.sh"

want="tool results: saw step 1; saw step 2; saw step 3; saw step 4"

loops() { # loops PROVIDER N [FLAGS [PAD]]: N loops at once, each answer checked
  cat >"$tmp/many.weft" <<EOF_W
/// Notes what it is given.
fn note(what: string) -> string {
  "saw {what}${4:-}"
}

role agent { model: "$1/tools-4+history", tools: [note], max_steps: 5 }

fn main() {
  let rs = barrier fanout i in range($2) limit $2 { ask agent "task {i}" }
  for r in rs { print(r) }
}
EOF_W
  run "$WEFT" run --no-journal --quiet ${3:-} "$tmp/many.weft"
  expect_rc 0 "$1: $2 loops"
  out=$(printf '%s\n' "$out" | sed 's/ #x*//g')
  n=$(printf '%s\n' "$out" | grep -c "| $want\$")
  [ "$n" = "$2" ] || fail "$1: $n of $2 loops saw their conversation whole and in order: $(printf '%s\n' "$out" | grep -v "| $want\$" | head -3)"
}
loops anthropic 1
loops anthropic 100
loops openai 100
# a small heap keeps the memo smaller than these conversations together
# (each tool result is 2 kB; the answer quotes its first 100 bytes)
pad=$(printf '%2000s' '' | tr ' ' x)
loops anthropic 40 "--max-memory 2M" " #$pad"

# a run killed while its third step is in flight, then resumed
cat >"$tmp/one.weft" <<'EOF_W'
/// Notes what it is given.
fn note(what: string) -> string {
  "saw {what}"
}

role agent { model: "anthropic/tools-4+history+slow-300", tools: [note], max_steps: 5 }

fn main() -> string {
  ask agent "one task"
}
EOF_W
"$WEFT" run --quiet "$tmp/one.weft" >"$tmp/out1" 2>"$tmp/err1" &
pid=$!
i=0
# steps are numbered by the fiber's effects: the second is not step#2
until [ "$("$WEFT" show 1 --json 2>/dev/null | grep -o '"kind":"step"' | wc -l)" -ge 2 ]; do
  i=$((i + 1))
  [ $i -lt 200 ] || { kill -9 $pid; fail "step 2 never reached the journal: $(cat "$tmp/err1")"; }
  sleep 0.05
done
kill -9 $pid
wait $pid 2>/dev/null
run "$WEFT" resume 1 --quiet --trace "$tmp/trace.jsonl"
expect_rc 0 "resume"
contains "$out" "| $want" || fail "the resumed loop sent another conversation: $out"
n=$(grep '"ev":"step"' "$tmp/trace.jsonl" | grep -c '"from":"journal"')
[ "$n" -ge 2 ] || fail "$n steps were answered from the journal, expected at least 2"
exit 0
