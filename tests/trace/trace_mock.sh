# --trace FILE.jsonl with the mock provider: one JSON object per line, a
# fiber_start and fiber_end per fiber, an ask event per call, a barrier per
# join; two runs give the same effect addresses and the same results; no
# key reaches the trace; --progress=always draws the progress line.
. "$TESTDIR/../lib/common.sh"
PROG="$TESTDIR/fanout.weft"
export ANTHROPIC_API_KEY=sk-ant-test-SECRET123456789 OPENAI_API_KEY=sk-test-SECRET987654321

run "$WEFT" run "$PROG" --provider mock --trace "$tmp/a.jsonl"
expect_rc 0 "first run"
out1=$out
run "$WEFT" run "$PROG" --provider mock --trace "$tmp/b.jsonl"
expect_rc 0 "second run"
[ "$out" = "$out1" ] || fail "results differ: $out1 / $out"

for f in a b; do
  [ -s "$tmp/$f.jsonl" ] || fail "empty trace $f"
  bad=$(grep -cv '^{.*}$' "$tmp/$f.jsonl")
  [ "$bad" = 0 ] || fail "trace $f: $bad lines are not one JSON object"
  grep -q '"t":[0-9]' "$tmp/$f.jsonl" || fail "trace $f: no times"
done
T="$tmp/a.jsonl"
count() { grep -c "\"ev\":\"$1\"" "$T"; }
# main + 6 list branches + 2 record branches
[ "$(count fiber_start)" = 9 ] || fail "fiber_start events: $(count fiber_start)"
[ "$(count fiber_end)" = 9 ] || fail "fiber_end events: $(count fiber_end)"
[ "$(count ask)" = 8 ] || fail "ask events: $(count ask)"
[ "$(count sleep)" = 6 ] || fail "sleep events: $(count sleep)"
[ "$(count barrier)" = 2 ] || fail "barrier events: $(count barrier)"
grep -q '"ev":"fiber_end","addr":"main","status":"ok"' "$T" || fail "no fiber_end of main"
grep -q '"ev":"ask","addr":"main/fanout#1@6\[3\]/ask#2","role":"r","model":"mock/m","prompt":"item 3","reply":"' "$T" ||
  fail "no ask event for branch 3: $(grep '"ask"' "$T" | head -n 3)"
grep -q '"addr":"main/fanout#2@10\[b\]/ask#1"' "$T" || fail "record branch b has no field-named address"
grep -q '"ev":"barrier","addr":"main/barrier#3","mode":"all","branches":6,"ok":6,"failed":0' "$T" ||
  fail "barrier event: $(grep barrier "$T")"
grep -q '"input_tokens":[0-9]*,"output_tokens":[0-9]*,"latency_ms":[0-9]*,"attempts":1,"retries":0,"repairs":0,"status":"ok"' "$T" ||
  fail "ask fields"

addrs() { grep -o '"addr":"[^"]*"' "$1" | sort; }
[ "$(addrs "$tmp/a.jsonl")" = "$(addrs "$tmp/b.jsonl")" ] || fail "addresses differ between runs"
# each effect address is unique
[ -z "$(grep '"ev":"ask"' "$T" | grep -o '"addr":"[^"]*"' | sort | uniq -d)" ] || fail "duplicate ask addresses"

grep -q SECRET "$tmp/a.jsonl" && fail "a key reached the trace"

# A failing run keeps its trace: the failure is in fiber_end.
cat >"$tmp/boom.weft" <<'EOF_W'
fn main() -> list[int] {
  let t = fanout i in range(3) {
    if i == 1 { fail("no {i}") }
    i
  }
  barrier t
}
EOF_W
run "$WEFT" run "$tmp/boom.weft" --trace "$tmp/boom.jsonl"
expect_rc 1 "failing branch"
grep -q '"ev":"fiber_end","addr":"main/fanout#1@2\[1\]","status":"failed","error":"no 1"' "$tmp/boom.jsonl" ||
  fail "no failed fiber_end: $(cat "$tmp/boom.jsonl")"
grep -q '"ev":"barrier".*"status":"failed"' "$tmp/boom.jsonl" || fail "no failed barrier"
grep -q '"ev":"fiber_end","addr":"main","status":"failed"' "$tmp/boom.jsonl" || fail "main did not fail in the trace"

# A string field is capped at 64 KiB and the event says "truncated".
cat >"$tmp/big.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() -> int { len(ask r repeat("x", 100000)) }
EOF_W
run "$WEFT" run "$tmp/big.weft" --trace "$tmp/big.jsonl"
expect_rc 0 "big prompt"
grep -q '"ev":"ask".*"truncated":true}$' "$tmp/big.jsonl" || fail "no truncated marker"
n=$(grep '"ev":"ask"' "$tmp/big.jsonl" | wc -c)
[ "$n" -lt 70000 ] || fail "the ask event is $n bytes: not capped"
[ "$n" -gt 65536 ] || fail "the ask event is $n bytes: the prompt was dropped"

# Bad trace paths are usage errors.
run "$WEFT" run "$PROG" --provider mock --trace "$tmp/no/such/dir/t.jsonl"
expect_rc 2 "unwritable trace"
expect_err "--trace"

# Progress: nothing when stderr is not a terminal; --progress=always draws
# "\r\033[K..." lines and clears the line before the summary.
cat >"$tmp/slow.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() -> int {
  let t = fanout i in range(4) { sleep(400ms)
    ask r "x {i}" }
  len(barrier t)
}
EOF_W
run "$WEFT" run "$tmp/slow.weft"
expect_rc 0 "slow run"
contains "$err" "branches" && fail "progress drawn on a non-terminal: $err"
run "$WEFT" run "$tmp/slow.weft" --progress=always
expect_rc 0 "slow run with progress"
[ "$out" = 4 ] || fail "progress changed the result: $out"
expect_err "branches 0 done, 4 running, 0 failed"
printf '%s' "$err" | grep -q "$(printf '\r\033\\[K')" || fail "no in-place redraw: $err"
expect_err "weft: 4 calls"
run "$WEFT" run "$tmp/slow.weft" --progress=always --quiet
contains "$err" "branches" && fail "--quiet still drew progress"
run "$WEFT" run "$tmp/slow.weft" --progress=sometimes
expect_rc 2 "bad --progress"
exit 0
