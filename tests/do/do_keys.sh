# weft do against the local test server (the real wire protocol): the
# planner is a real provider, its program runs, and the API key appears
# nowhere — not in stdout, stderr, the trace, the journal or the saved
# program — also when the planner's provider refuses the key.
. "$TESTDIR/../lib/server.sh"
export ANTHROPIC_API_KEY=sk-ant-Zr8Tq-api03-PLANNERSECRET-mNoP
mkdir "$tmp/work" && cd "$tmp/work" || exit 1
run "$WEFT" do "Plan this" --planner anthropic/program --yes --trace "$tmp/work/t.jsonl"
expect_rc 0 "do against the test server"
expect_out '"planned: Plan this"'
all="$out
$err"
run "$WEFT" do "Plan this" --planner openai/program --yes --models openai/program --trace "$tmp/work/t2.jsonl"
expect_rc 0 "do with an OpenAI planner"
expect_out '"planned: Plan this"'
all="$all
$out
$err"
run "$WEFT" do "Plan this" --planner anthropic/fault-401 --yes
expect_rc 1 "a refused key"
all="$all
$out
$err"
run "$WEFT" save 1 "$tmp/work/saved.weft" --test
expect_rc 0 "save"
all="$all
$out
$err"
printf '%s\n' "$all" >"$tmp/all.txt"
k=$ANTHROPIC_API_KEY
head8=$(printf %s "$k" | cut -c1-8)
tail4=${k#"${k%????}"}
for s in "$k" "$head8" "$tail4" PLANNERSECRET; do
  if grep -raqF -- "$s" "$tmp/all.txt" "$tmp/work"; then
    fail "'$s' (from the API key) appears in: $(grep -rlaF -- "$s" "$tmp/all.txt" "$tmp/work")"
  fi
done
exit 0
