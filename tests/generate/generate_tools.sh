# generate in the tools: weft fmt lays it out like a function's signature
# (and changes nothing else, so the program compiles to the same bytecode),
# weft graph gives it a node naming its planner, model and signature,
# weft check --cost bounds it and says why a call of its function is not
# bounded, and --caps finds nothing to grant for it.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1
cat >messy.weft <<'W'
type Finding = {file: string, line: int}
role planner {model: "mock/planner", repairs: 1, max_tokens: 500}
fn main(files:list[string])->list[Finding]{
  let review = generate   fn (files :list[string] ,  depth:int)->list[Finding]   by   planner "Review {len(files)} files"
  let log = generate fn( ) by planner "Log"
  log()
  review(files,2)
}
W
cat >expected.weft <<'W'
type Finding = { file: string, line: int }
role planner { model: "mock/planner", repairs: 1, max_tokens: 500 }
fn main(files: list[string]) -> list[Finding] {
  let review = generate fn(files: list[string], depth: int) -> list[Finding] by planner "Review {len(files)} files"
  let log = generate fn() by planner "Log"
  log()
  review(files, 2)
}
W
run "$WEFT" fmt messy.weft
expect_rc 0 "fmt"
printf '%s\n' "$out" >got.weft
cmp -s got.weft expected.weft || fail "fmt layout: $(diff expected.weft got.weft)"
run "$WEFT" fmt --check expected.weft
expect_rc 0 "fmt --check of the canonical layout"
"$WEFT" disasm messy.weft >a.dis 2>&1 || fail "disasm messy.weft: $(cat a.dis)"
"$WEFT" disasm expected.weft | sed 's/expected\.weft/messy.weft/g' >b.dis
cmp -s a.dis b.dis || fail "fmt changed the bytecode: $(diff a.dis b.dis)"

run "$WEFT" graph expected.weft
expect_rc 0 "graph"
contains "$out" 'label="generate by planner (mock/planner): fn(files: list[string], depth: int) -> list[Finding]"' ||
  fail "graph: no node for the generate with its role, model and signature: $out"
contains "$out" 'label="generate by planner (mock/planner): fn()"' ||
  fail "graph: no node for the generate without a result: $out"
run "$WEFT" graph --mermaid expected.weft
expect_rc 0 "graph --mermaid"
contains "$out" "generate by planner" || fail "graph --mermaid: no generate node: $out"
if command -v dot >/dev/null; then
  "$WEFT" graph expected.weft >g.dot && dot -Tsvg g.dot -o g.svg 2>dot.err || fail "dot cannot render: $(cat dot.err)"
fi

# the generates alone: (1 + 1 repair) calls of at most 500 tokens each
cat >only.weft <<'W'
role planner { model: "mock/planner", repairs: 1, max_tokens: 500 }
role loose { model: "mock/loose" }
fn main() {
  let _f = generate fn(n: int) -> int by planner "Double n"
  let _g = generate fn() by loose "Log"
}
W
run "$WEFT" check --cost only.weft
expect_rc 0 "check --cost"
contains "$out$err" "at most 6 model calls, at most 17384 output tokens" ||
  fail "cost of two generates (2 + 4 calls: repairs 1, and 3 by default): $out$err"
run "$WEFT" check --cost expected.weft
contains "$out$err" "a call of a function a model wrote (generate)" ||
  fail "cost of calling a generated function: $out$err"
run "$WEFT" check --caps expected.weft
expect_rc 0 "check --caps"
exit 0
