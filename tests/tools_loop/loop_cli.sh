# A role's tools through the tools: `weft graph` names them and the bound,
# `weft check --cost` counts every step of the loop (max_steps, times the
# repairs of a typed answer), `weft disasm` shows the STEP instruction and
# the role's tools, `weft fmt` keeps the role as written, and a built
# module keeps the tools (its loop runs the same from the .weftc).
. "$TESTDIR/../lib/common.sh"
cat >"$tmp/c.weft" <<'EOF_W'
/// Adds two integers.
fn add(a: int, b: int) -> int {
  a + b
}

role calc { model: "mock/calc", tools: [add], max_steps: 7 }

fn main() -> { n: int } {
  ask calc "What is 2 + 2?" -> { n: int }
}
EOF_W
run "$WEFT" graph "$tmp/c.weft"
expect_rc 0 "graph"
contains "$out" "ask calc (mock/calc) tools: add; at most 7 steps" || fail "graph: $out"
run "$WEFT" check --cost "$tmp/c.weft"
expect_rc 0 "cost"
# 7 steps, each a typed ask of at most 1 + 2 repairs
contains "$out" "at most 21 model calls" || fail "cost: $out"
run "$WEFT" disasm "$tmp/c.weft"
expect_rc 0 "disasm"
contains "$out" "tools add max_steps 7" || fail "disasm role: $out"
contains "$out" "STEP" || fail "disasm: no STEP instruction"
run "$WEFT" fmt "$tmp/c.weft"
expect_rc 0 "fmt"
[ "$out" = "$(cat "$tmp/c.weft")" ] || fail "fmt changed the program: $out"
run "$WEFT" build "$tmp/c.weft" -o "$tmp/c.weftc"
expect_rc 0 "build"
run "$WEFT" run --no-journal "$tmp/c.weft"
expect_rc 0 "run the source"
src_out=$out
run "$WEFT" run --no-journal "$tmp/c.weftc"
expect_rc 0 "run the module: $err"
[ "$out" = "$src_out" ] || fail "the module ran differently: $out vs $src_out"
exit 0
