# THE KEY TEST: API keys never appear in anything weft prints or writes —
# stdout, stderr, --json output, files in the working directory — neither
# whole nor their first 8 or last 4 characters, which providers echo in
# error bodies (`sk-VKMIs***wjh3`). The server's 401 echoes them that way
# and the `echokey` fault quotes the whole key, prefix and suffix.
. "$TESTDIR/../lib/server.sh"

export ANTHROPIC_API_KEY=sk-ant-Qv7Wk-api03-SECRETMIDDLE-wXyZ
export OPENAI_API_KEY=sk-proj-Hq3Lm-SECRETMIDDLE-kT8r
extra=""
"$WEFT" run --help 2>&1 | grep -q -- '--json' && extra="--json"
mkdir "$tmp/work" && cd "$tmp/work" || exit 1

all="$tmp/all.txt"
: >"$all"
for p in anthropic openai; do
  for f in ok fault-400 fault-401 fault-404 fault-echokey fault-vllm401 fault-500noretry \
           fault-midstream fault-refusal fault-badschema fault-malformed fault-llamacpp \
           fault-html502 fault-stall; do
    for pr in ask_text typed_record; do
      file=$(prog "$pr" "$p" "$f")
      for mode in "" --no-stream; do
        run "$WEFT" run "$file" $mode --retries 0 --repairs 0 --timeout 300ms $extra
        expect_no_crash "$p $f $pr"
        printf '%s\n%s\n' "$out" "$err" >>"$all"
      done
    done
  done
done
# The echoing faults did reach the client, so the test can fail.
[ "$(wc -l <"$all")" -gt 100 ] || fail "too little output to judge"
grep -q "Incorrect API key" "$all" || fail "the 401 message did not come through"
grep -q "Bad header: key \[redacted\]" "$all" || fail "the echoed key did not come through redacted"

for k in "$ANTHROPIC_API_KEY" "$OPENAI_API_KEY"; do
  head8=$(printf %s "$k" | cut -c1-8)
  tail4=${k#"${k%????}"}
  for s in "$k" "$head8" "$tail4" SECRETMIDDLE; do
    if grep -rqF -- "$s" "$tmp/all.txt" "$tmp/work" "$tmp/server.log"; then
      fail "'$s' (from an API key) appears in: $(grep -rlF -- "$s" "$tmp/all.txt" "$tmp/work" "$tmp/server.log")"
    fi
  done
done
exit 0
