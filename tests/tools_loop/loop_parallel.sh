# The calls of one turn run in parallel, as the branches of a fan-out: two
# tools that each sleep 200 ms, called in the same step, take well under
# 400 ms together (the barrier of the turn in the trace says how long).
. "$TESTDIR/../lib/common.sh"
cat >"$tmp/p.weft" <<'EOF_W'
/// Waits a moment, then says so.
fn slow_a(x: int) -> string {
  sleep(200ms)
  "a"
}

/// Waits a moment too.
fn slow_b(y: string) -> string {
  sleep(200ms)
  "b"
}

role agent { model: "mock/agent", tools: [slow_a, slow_b], max_steps: 3 }

fn main() -> string {
  ask agent "Call both"
}
EOF_W
run "$WEFT" run --no-journal --trace "$tmp/trace.jsonl" "$tmp/p.weft"
expect_rc 0 "the loop"
ms=$(grep '"ev":"barrier"' "$tmp/trace.jsonl" | sed 's/.*"branches":\([0-9]*\).*"duration_ms":\([0-9]*\).*/\1 \2/')
[ -n "$ms" ] || fail "no barrier event in the trace"
set -- $ms
[ "$1" = 2 ] || fail "the turn had $1 branches, expected 2"
[ "$2" -ge 190 ] || fail "the turn took $2 ms: the tools did not sleep"
[ "$2" -lt 390 ] || fail "the turn took $2 ms: the two calls did not run in parallel"
steps=$(grep -c '"ev":"step"' "$tmp/trace.jsonl")
[ "$steps" = 2 ] || fail "$steps steps, expected 2 (calls, then the answer)"
exit 0
