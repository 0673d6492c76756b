# std/proc behind --allow-run: output, exit code, stdin, cwd, the output
# cap, the call's timeout, the trace, and a resumed run that answers a
# finished command from the journal instead of running it again, and
# runs the call that failed (refused: no grant) again.
. "$TESTDIR/../lib/common.sh"
J="$tmp/j.db"
cd "$tmp" || exit 1
mkdir -p work
cat >basic.weft <<'EOF_W'
import "std/proc" as proc
fn main() {
  let a = proc.run("sh", ["-c", "echo out; echo err >&2; exit 3"])
  print("{a.code} [{trim(a.stdout)}] [{trim(a.stderr)}] {a.signal} {a.timed_out}")
  let b = proc.run_with("cat", [], { stdin: "line one\nline two" })
  print(b.stdout)
  let c = proc.run_with("pwd", [], { cwd: "work" })
  print(c.stdout)
  let d = proc.run("sh", ["-c", "head -c 3000000 /dev/zero | tr '\\0' x"])
  print("{len(d.stdout)} {d.stdout_truncated} {d.code}")
  let e = proc.run_with("sleep", ["30"], { timeout: 200ms })
  print("{e.timed_out} {e.code} {e.signal} {e.duration < 10s}")
  let f = proc.run("printf", ["a\\377b"])
  print(f.stdout)
}
EOF_W
run "$WEFT" run --journal "$J" --quiet --trace t.jsonl --allow-run=sh --allow-run=cat --allow-run=pwd \
  --allow-run=sleep --allow-run=printf --allow-read=work basic.weft
expect_rc 0 "the calls"
expect_out "3 [out] [err] null false"
expect_out "line one
line two"
expect_out "$tmp/work"
expect_out "1048576 true 0"
expect_out "true -1 9 true"
expect_out "a�b"
grep -q '"main/proc.run#1"' t.jsonl || fail "no proc.run in the trace: $(head -c 2000 t.jsonl)"

# a timeout that is not one
cat >bad.weft <<'EOF_W'
import "std/proc" as proc
fn main() { print(proc.run_with("sleep", ["1"], { timeout: 0s }).code) }
EOF_W
run "$WEFT" run --journal "$J" --quiet --allow-run=sleep bad.weft
expect_rc 1 "a zero timeout"
expect_err "the timeout must be a duration from 1ms to 24h"

# ---- resume: a command that finished is not run again -----------------------------
cat >count.sh <<'EOF_S'
#!/bin/sh
# appends a line per run, so the test can count them
echo run >> "$1/runs"
wc -l < "$1/runs"
EOF_S
chmod +x count.sh
cat >two.weft <<'EOF_W'
import "std/proc" as proc
fn main() -> string {
  let a = proc.run("./count.sh", ["work"])
  // a computed name: checked when called, so the first run starts, runs
  // count.sh and fails here
  let b = proc.run(join(["s", "h"], ""), ["-c", "echo second"])
  "{trim(a.stdout)} {trim(b.stdout)}"

}
EOF_W
run "$WEFT" run --journal "$J" --allow-run=./count.sh --allow-write=work two.weft
expect_rc 1 "the first run fails after the command ran"
expect_err "needs --allow-run=sh"
id=$(printf '%s' "$err" | sed -n 's/^weft: run \([0-9]*\) .*/\1/p' | head -1)
[ -n "$id" ] || fail "no run id in: $err"
[ "$(wc -l < work/runs)" = 1 ] || fail "count.sh ran $(wc -l < work/runs) times"
run "$WEFT" resume "$id" --journal "$J" --quiet --allow-run=./count.sh --allow-run=sh --allow-write=work
expect_rc 0 "the resume"
[ "$out" = '"1 second"' ] || fail "the resume: $out"
[ "$(wc -l < work/runs)" = 1 ] || fail "the resume ran count.sh again"
exit 0
