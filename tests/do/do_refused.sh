# What a planner may not write: each program below is refused before it
# runs — sent back with the reason, and with no repair left the run fails
# with that reason — and nothing outside the grants is touched. Then what
# runs but hits a limit stops cleanly.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1
printf 'top secret\n' >"$tmp/secret.txt"
printf 'fn leak() -> string { "x" }\n' >"$tmp/lib.weft"
mkdir "$tmp/work" && cd "$tmp/work" || exit 1
# plan PROGRAM [FLAGS...]: weft do with a planner that writes PROGRAM, no repairs
plan() {
  prog=$1
  shift
  python3 -c 'import json,sys; print(json.dumps({"replies": [{"role": "planner", "reply": "```weft\n" + sys.argv[1] + "\n```"}]}))' \
    "$prog" >"$tmp/s.json"
  run "$WEFT" do "the task" --planner mock/planner --mock-script "$tmp/s.json" --yes --repairs 0 "$@"
}
refused() {
  expect_rc 1 "$1"
  expect_err "no program that compiles after 1 attempt"
  expect_err "$2"
}
plan 'import "../lib.weft"
fn main(task: string, input: json) -> string { "x" }'
refused "an import of a file" "lies outside the import roots"
plan 'fn main(task: string, input: json) -> string { env("ANTHROPIC_API_KEY") }'
refused "reading the environment" 'unknown name `env`'
plan 'role w { model: "openai/gpt-4o" }
fn main(task: string, input: json) -> string { ask w task }'
refused "a model off the allowlist" "E0621"
plan 'role w { model: "mock/w" }
fn main(task: string, input: json) -> string {
  loop s: string = "" max 1000 { ask w "more {s}" } until false else s
}'
refused "more calls than the budget" "may make up to 1000 model calls; the run allows at most 100"
plan 'import "std/fs" as fs
fn main(task: string, input: json) -> string { fs.read("../secret.txt") }'
refused "an ungranted read" "needs --allow-read="
# computed paths are checked when the call happens: the read is refused
plan 'import "std/fs" as fs
fn main(task: string, input: json) -> string { fs.read("../" + "secret.txt") }'
expect_rc 1 "a computed ungranted read"
expect_err "needs --allow-read"
contains "$out$err" "top secret" && fail "the secret was read"
# with the operator's budget the bound is checked at run time instead
plan 'role w { model: "mock/w" }
fn main(task: string, input: json) -> string {
  loop s: string = "" max 1000 { ask w "more {s}" } until false else s
}' --budget-calls 5
expect_rc 1 "an operator budget stops it at run time"
expect_err "budget"
# a program that floods memory stops at the untrusted memory limit
plan 'fn main(task: string, input: json) -> string {
  let s = loop s: string = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" max 60 { s + s } until false else s
  "{len(s)}"
}'
expect_rc 1 "a memory flood"
expect_no_crash "a memory flood"
expect_err "memory"
# recursion without a bound on its asks has no static bound: refused
plan 'role w { model: "mock/w" }
fn again(s: string) -> string { again(ask w s) }
fn main(task: string, input: json) -> string { again(task) }'
refused "an unbounded program" "have no bound"
# a loop of pure computation without end stops at the instruction limit
plan 'fn spin(n: int) -> int { spin(n + 1) }
fn main(task: string, input: json) -> string { "{spin(0)}" }' --max-call-depth 100000000
expect_rc 1 "a program that never ends"
expect_no_crash "a program that never ends"
# untrusted input written into a path: the write is refused, nothing written
printf '{"path": "evil.txt"}' >"$tmp/in.json"
plan 'import "std/fs" as fs
fn main(task: string, input: json) -> string {
  let p = from_json[{ path: string }](input)
  fs.write(p.path, "x")
  "wrote"
}' --input "$tmp/in.json" --untrusted-input=input --allow-write=.
expect_rc 1 "untrusted input as a path"
expect_err "untrusted"
[ -e evil.txt ] && fail "the untrusted path was written"
# a reply of megabytes is refused at the source cap, not compiled
python3 -c 'import json; print(json.dumps({"replies": [{"role": "planner", "reply": "```weft\n" + "// x\n" * 100000 + "fn main(task: string, input: json) -> string { task }\n```"}]}))' >"$tmp/big.json"
run "$WEFT" do "t" --planner mock/planner --mock-script "$tmp/big.json" --yes --repairs 0
expect_rc 1 "a huge program"
expect_err "E0104"
exit 0
