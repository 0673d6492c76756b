# generate inside a program: the planner is told the signature and the
# types to declare, its program must have exactly that signature (a
# misfit goes back for repair), the function it gives is called like any
# (twice, and from a fan-out), generated code may generate in turn only to
# a bounded depth, and a planner whose prompt held untrusted text may not
# write, run or reach the network.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1
cat >typed.weft <<'EOF_W'
type Finding = { file: string, line: int, severity: "low" | "high" }

role planner { model: "mock/planner" }

fn main(files: list[string]) -> list[Finding] {
  let review = generate fn(files: list[string]) -> list[Finding] by planner "Review these files"
  let once = review(files)
  let each = barrier fanout f in files { review([f]) }
  return once + each[0]
}
EOF_W
# the offline mock writes a program of the signature: values of the type
run "$WEFT" run typed.weft --arg 'files=["a.c", "b.c"]'
expect_rc 0 "the mock planner's typed program"
expect_out '"severity":"low"'
# a program whose result misfits the signature is repaired
cat >s.json <<'EOF_J'
{"replies": [
  {"role": "planner", "times": 1, "reply": "```weft\nfn main(files: list[string]) -> list[string] {\n  return files\n}\n```"},
  {"role": "planner", "reply": "```weft\ntype Finding = { file: string, line: int, severity: \"low\" | \"high\" }\n\nfn main(files: list[string]) -> list[Finding] {\n  return map(files, fn(f: string) => { file: f, line: len(f), severity: \"high\" })\n}\n```"}
]}
EOF_J
run "$WEFT" run typed.weft --arg 'files=["a.c"]' --mock-script s.json --trace "$tmp/t.jsonl"
expect_rc 0 "a repaired signature"
expect_out '"severity":"high"'
grep '"ev":"generate"' "$tmp/t.jsonl" | grep -q '"repairs":1' || fail "the misfit was not repaired once: $(grep generate "$tmp/t.jsonl")"
# the signature must be exact: with no repair left the misfit is the error
run "$WEFT" run typed.weft --arg 'files=["a.c"]' --mock-script s.json --repairs 0
expect_rc 1 "a misfit with no repair"
expect_err "main returns list[string]; it must be exactly fn main(files: list[string]) -> list[Finding]"
# generated code that generates again stops at the depth limit
cat >deep.weft <<'EOF_W'
role planner { model: "mock/planner" }

fn main(x: string) -> string {
  let f = generate fn(x: string) -> string by planner "level 1"
  return f(x)
}
EOF_W
cat >deep.json <<'EOF_J'
{"replies": [{"role": "planner", "reply": "```weft\nrole planner { model: \"mock/planner\" }\n\nfn main(x: string) -> string {\n  let g = generate fn(x: string) -> string by planner \"again\"\n  return g(x)\n}\n```"}]}
EOF_J
# (a generated program that calls a generated function has no static bound:
# the operator's budget bounds it at run time instead)
run "$WEFT" run deep.weft --arg x=hi --mock-script deep.json --budget-calls 50
expect_rc 1 "generation without end"
expect_no_crash "generation without end"
expect_err "generated 3 levels deep, the most allowed"
# untrusted text in the planner's prompt: no write (nor run, nor network)
cat >lab.weft <<'EOF_W'
role planner { model: "mock/planner" }

fn main(msg: string) -> string {
  let f = generate fn(x: string) -> string by planner "Handle this message: {msg}"
  return f(msg)
}
EOF_W
cat >lab.json <<'EOF_J'
{"replies": [{"role": "planner", "reply": "```weft\nimport \"std/fs\" as fs\n\nfn main(x: string) -> string {\n  fs.write(\"out.txt\", x)\n  return \"written\"\n}\n```"}]}
EOF_J
run "$WEFT" run lab.weft --arg msg=hello --untrusted-input=msg --mock-script lab.json --allow-write=. --repairs 0
expect_rc 1 "a labelled planner's write"
expect_err "the task holds untrusted text, so the program may not call fs.write"
[ -e out.txt ] && fail "the write happened"
# the same program from a clean prompt writes (within the grant)
run "$WEFT" run lab.weft --arg msg=hello --mock-script lab.json --allow-write=. --repairs 0
expect_rc 0 "a clean planner's write"
[ -e out.txt ] || fail "the granted write did not happen"
# however the code reaches the capability — a function value, a fan-out
# branch — it does not act; the asking program itself still may
cat >lab2.weft <<'EOF_W'
import "std/fs" as fs

role planner { model: "mock/planner" }

fn main(msg: string) -> string {
  let f = generate fn(x: string) -> string by planner "Handle this message: {msg}"
  let r = try f(msg)
  fs.write("after.txt", "the caller writes")
  return match r {
    Ok { value } => value,
    Failed { error } => error.message,
  }
}
EOF_W
for body in 'let w = fs.write\n  w(\"out.txt\", x)\n  return \"written\"' \
            'let ws = barrier fanout p in [\"out.txt\"] {\n    let w = fs.write\n    w(p, x)\n    p\n  }\n  return ws[0]'; do
  cat >lab2.json <<EOF_J
{"replies": [{"role": "planner", "reply": "\`\`\`weft\nimport \"std/fs\" as fs\n\nfn main(x: string) -> string {\n  $body\n}\n\`\`\`"}]}
EOF_J
  rm -f out.txt after.txt
  run "$WEFT" run lab2.weft --arg msg=hello --untrusted-input=msg --mock-script lab2.json --allow-write=. --repairs 0
  expect_rc 0 "a labelled planner's program reaching fs.write by a value ($body)"
  expect_out "fs.write: called by a program a planner wrote from untrusted text"
  [ -e out.txt ] && fail "the restricted program wrote ($body)"
  [ -e after.txt ] || fail "the asking program could not write after the call"
done
# trust() in code a planner wrote declassifies only with --allow-trust
cat >trust.json <<'EOF_J'
{"replies": [{"role": "planner", "reply": "```weft\nfn main(x: string) -> string {\n  return trust(x, \"the planner says so\")\n}\n```"}]}
EOF_J
run "$WEFT" run lab.weft --arg msg=hello --untrusted-input=msg --mock-script trust.json --trace "$tmp/tr.jsonl"
expect_rc 0 "trust in generated code"
grep '"ev":"trust"' "$tmp/tr.jsonl" | grep -q 'not honoured' || fail "trust in generated code was honoured: $(grep trust "$tmp/tr.jsonl")"
run "$WEFT" run lab.weft --arg msg=hello --untrusted-input=msg --mock-script trust.json --allow-trust --trace "$tmp/tr2.jsonl"
expect_rc 0 "trust in generated code with --allow-trust"
grep '"ev":"trust"' "$tmp/tr2.jsonl" | grep -q 'not honoured' && fail "--allow-trust did not let generated code trust"
cat >proc.json <<'EOF_J'
{"replies": [{"role": "planner", "reply": "```weft\nimport \"std/proc\" as proc\n\nfn main(x: string) -> string {\n  return \"{x}\"\n}\n```"}]}
EOF_J
run "$WEFT" run lab.weft --arg msg=hello --untrusted-input=msg --mock-script proc.json --repairs 0
expect_rc 1 "a labelled planner's std/proc"
expect_err "may not import std/proc"
exit 0
