# weft runs / show / trace on journals written by `weft run --journal`:
# the runs table and its --json, the tree of fibers and effects (text and
# --json), the events as the --trace lines, a failed run, an interrupted
# and resumed run, `last`, and the errors (missing journal, not a journal,
# unknown run, bad ids and flags: exit 2 with a one-line message).
. "$TESTDIR/../lib/common.sh"
PROG="$TESTDIR/../trace/fanout.weft"
J="$tmp/j.db"

# No journal yet: every command says so and exits 2.
for c in "runs" "show 1" "trace 1"; do
  run "$WEFT" $c --journal "$J"
  expect_rc 2 "$c without a journal"
  expect_err "$J"
  [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "$c: more than one line: $err"
done
printf 'not a database at all\n' >"$tmp/junk.db"
run "$WEFT" runs --journal "$tmp/junk.db"
expect_rc 2 "a file that is not a journal"
expect_err "junk.db"

# Run 1: the trace program (8 asks, 6 sleeps, two fan-outs), also traced to a file.
run "$WEFT" run "$PROG" --provider mock --journal "$J" --trace "$tmp/t.jsonl"
expect_rc 0 "run 1"
expect_err "run 1 (journal $J)"
# Run 2: a fan-out whose branch 1 fails.
cat >"$tmp/boom.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() -> list[string] {
  let t = fanout i in range(3) {
    let s = ask r "q {i}"
    if i == 1 { fail("no {i}") }
    s
  }
  barrier t
}
EOF_W
run "$WEFT" run "$tmp/boom.weft" --provider mock --journal "$J"
expect_rc 1 "run 2"
expect_err "run 2 (journal $J)"

# weft runs: a header and one line per run, oldest first.
run "$WEFT" runs --journal "$J"
expect_rc 0 "runs"
[ "$(printf '%s\n' "$out" | wc -l)" = 3 ] || fail "runs: expected 3 lines: $out"
printf '%s\n' "$out" | head -n 1 | grep -Eq '^ID +STATUS +CALLS +TOKENS +COST +DURATION +STARTED +PROGRAM$' ||
  fail "runs header: $out"
line1=$(printf '%s\n' "$out" | sed -n 2p)
line2=$(printf '%s\n' "$out" | sed -n 3p)
printf '%s\n' "$line1" |
  grep -Eq '^ *1  ok +8 +[0-9,]+ +\$0\.0000 +[0-9]+\.[0-9]s +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}  .*fanout\.weft$' ||
  fail "runs line 1: $line1"
printf '%s\n' "$line2" | grep -Eq '^ *2  failed +3 +.*boom\.weft$' || fail "runs line 2: $line2"

run "$WEFT" runs --journal "$J" --json
expect_rc 0 "runs --json"
expect_out '[{"id":1,'
expect_out '"status":"ok","state":"ok"'
expect_out '"calls":8,"failed_calls":0'
expect_out '"options":["--provider=mock"'
expect_out '{"id":2,'
expect_out '"status":"failed","state":"failed"'
expect_out '"error":"branch 1 failed: no 1"'
contains "$out" '"module":' && fail "runs --json has the module bytes"
[ "$(printf '%s' "$out" | grep -o '"duration_ms":[0-9]*' | wc -l)" = 2 ] || fail "runs --json durations: $out"
# The TOKENS column is input + output with thousands separators.
tin=$(printf '%s' "$out" | grep -o '"input_tokens":[0-9]*' | head -n 1 | cut -d: -f2)
tout=$(printf '%s' "$out" | grep -o '"output_tokens":[0-9]*' | head -n 1 | cut -d: -f2)
[ "$((tin + tout))" -gt 0 ] || fail "run 1 used no tokens"
printf '%s\n' "$line1" | grep -q "  $((tin + tout))  " || fail "runs: tokens of run 1 not $((tin + tout)): $line1"

# weft show: the header, then the tree.
run "$WEFT" show 1 --journal "$J"
expect_rc 0 "show 1"
[ "$(printf '%s\n' "$out" | head -n 1)" = "run 1  ok" ] || fail "show header: $out"
expect_out "module    "
expect_out "inputs    {}"
expect_out "calls     8 (0 failed)"
expect_out "cost      \$0.0000"
tree=$(printf '%s\n' "$out" | sed -n '/^main /,$p')
expected_shape='main  ok
├─ fanout#1@6  6 branches: 6 ok
│  ├─ [0]  ok
│  │  ├─ sleep#1  5ms  ok
│  │  └─ ask#2  r  mock/m  ok
│  ├─ [1]  ok
│  │  ├─ sleep#1  5ms  ok
│  │  └─ ask#2  r  mock/m  ok
│  ├─ [2]  ok
│  │  ├─ sleep#1  5ms  ok
│  │  └─ ask#2  r  mock/m  ok
│  ├─ [3]  ok
│  │  ├─ sleep#1  5ms  ok
│  │  └─ ask#2  r  mock/m  ok
│  ├─ [4]  ok
│  │  ├─ sleep#1  5ms  ok
│  │  └─ ask#2  r  mock/m  ok
│  └─ [5]  ok
│     ├─ sleep#1  5ms  ok
│     └─ ask#2  r  mock/m  ok
└─ fanout#2@10  2 branches: 2 ok
   ├─ [a]  ok
   │  └─ ask#1  r  mock/m  ok
   └─ [b]  ok
      └─ ask#1  r  mock/m  ok'
# compare up to the status (tokens and durations vary)
shape=$(printf '%s\n' "$tree" | sed -E 's/^(.*  (ok|failed))  .*$/\1/')
[ "$shape" = "$expected_shape" ] || fail "show 1 tree:
$tree"
printf '%s\n' "$tree" | grep -Eq '^│  │  └─ ask#2  r  mock/m  ok  [0-9]+ in / [0-9]+ out  \$0\.0000  [0-9]+ms$' ||
  fail "ask line: $tree"

# show last is run 2: the failed branch and its error.
run "$WEFT" show last --journal "$J"
expect_rc 0 "show last"
[ "$(printf '%s\n' "$out" | head -n 1)" = "run 2  failed" ] || fail "show last header: $out"
expect_out "error     branch 1 failed: no 1"
expect_out "main  failed: branch 1 failed: no 1"
expect_out "└─ fanout#1@3  3 branches: 1 ok, 1 failed, 1 cancelled"
expect_out "   ├─ [0]  ok"
expect_out "   └─ [2]  cancelled"
expect_out "   ├─ [1]  failed: no 1"
[ "$(printf '%s\n' "$out" | grep -c 'ask#1  r  mock/m  ok')" = 3 ] || fail "show last asks: $out"

# show --json: the run and the tree.
run "$WEFT" show 1 --journal "$J" --json
expect_rc 0 "show --json"
expect_out '{"run":{"id":1,'
expect_out '"tree":{"addr":"main","kind":"fiber","name":"main","status":"ok"'
expect_out '{"addr":"main/fanout#1@6","kind":"fanout","name":"fanout#1@6","status":"ok","branches":6,"ok":6,"failed":0,"cancelled":0,"unfinished":0,"children":[{"addr":"main/fanout#1@6[0]","kind":"fiber","name":"[0]","status":"ok"'
expect_out '{"addr":"main/fanout#2@10[b]/ask#1","kind":"ask","name":"ask#1","status":"ok","role":"r","model":"mock/m","prompt":"right","response":"mock reply #'
expect_out '"ms":5'
[ "$(printf '%s' "$out" | grep -o '"kind":"ask"' | wc -l)" = 8 ] || fail "show --json: not 8 asks"
[ "$(printf '%s' "$out" | grep -o '"kind":"sleep"' | wc -l)" = 6 ] || fail "show --json: not 6 sleeps"
[ "$(printf '%s' "$out" | grep -o '"kind":"fiber"' | wc -l)" = 9 ] || fail "show --json: not 9 fibers"
run "$WEFT" show 2 --journal "$J" --json
expect_out '"kind":"fiber","name":"[1]","status":"failed","error":"no 1"'

# weft trace: exactly the lines --trace wrote.
run "$WEFT" trace 1 --journal "$J"
expect_rc 0 "trace 1"
[ "$out" = "$(cat "$tmp/t.jsonl")" ] || fail "trace 1 differs from the --trace file"
[ "$(printf '%s\n' "$out" | grep -c '"ev":"ask"')" = 8 ] || fail "trace 1: not 8 ask events"

# The default journal is .weft/journal.db in the working directory.
mkdir "$tmp/wd"
(cd "$tmp/wd" && env -u WEFT_JOURNAL "$WEFT" run "$PROG" --provider mock --quiet >/dev/null 2>&1) ||
  fail "run with the default journal"
[ -f "$tmp/wd/.weft/journal.db" ] || fail "no .weft/journal.db"
out=$(cd "$tmp/wd" && env -u WEFT_JOURNAL "$WEFT" runs) || fail "runs with the default journal"
printf '%s\n' "$out" | grep -Eq '^ *1  ok ' || fail "runs with the default journal: $out"
# $WEFT_JOURNAL, when set, is the default.
out=$(WEFT_JOURNAL="$J" "$WEFT" runs) || fail "runs with WEFT_JOURNAL"
[ "$(printf '%s\n' "$out" | wc -l)" = 3 ] || fail "runs with WEFT_JOURNAL=$J: $out"

# Errors: unknown run, bad ids, bad flags, no run.
for c in show trace; do
  run "$WEFT" $c 9 --journal "$J"
  expect_rc 2 "$c of an unknown run"
  expect_err "no run 9 in $J"
  run "$WEFT" $c seven --journal "$J"
  expect_rc 2 "$c of a bad id"
  expect_err "'seven' is not a run id"
  run "$WEFT" $c --journal "$J"
  expect_rc 2 "$c without a run"
  expect_err "no run given"
  run "$WEFT" $c 1 --bogus --journal "$J"
  expect_rc 2 "$c with an unknown flag"
  expect_err "unknown flag '--bogus'"
done
run "$WEFT" runs 1 --journal "$J"
expect_rc 2 "runs with an argument"
run "$WEFT" trace 1 --json --journal "$J"
expect_rc 2 "trace --json"
run "$WEFT" show --help
expect_rc 0 "show --help"
expect_out "usage: weft show RUN"

# An empty journal: the header only; `last` names no run.
# (a copy of a real journal with its runs deleted)
cp "$J" "$tmp/empty.db" || fail "cannot copy the journal"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript("DELETE FROM events; DELETE FROM effects; DELETE FROM runs;"); c.close()' "$tmp/empty.db" ||
  fail "could not make an empty journal"
run "$WEFT" runs --journal "$tmp/empty.db"
expect_rc 0 "runs of an empty journal"
printf '%s\n' "$out" | grep -Eq '^ID +STATUS +CALLS +TOKENS +COST +DURATION +STARTED +PROGRAM$' || fail "empty runs: $out"
[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "empty runs: $out"
run "$WEFT" runs --journal "$tmp/empty.db" --json
[ "$out" = "[]" ] || fail "empty runs --json: $out"
run "$WEFT" show last --journal "$tmp/empty.db"
expect_rc 2 "show last of an empty journal"
expect_err "no runs in"

# A run killed while a branch sleeps: "running" while its process lives,
# then "interrupted"; its unfinished fibers show so; a resume finishes it
# and answers the recorded effects from the journal.
K="$tmp/k.db"
cat >"$tmp/slow.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() -> int {
  let t = fanout i in range(2) {
    let a = ask r "first {i}"
    sleep(i * 3s)
    a + ask r "second {i}"
  }
  len(barrier t)
}
EOF_W
"$WEFT" run "$tmp/slow.weft" --provider mock --journal "$K" --quiet >/dev/null 2>&1 &
pid=$!
n=0
while :; do
  out=$("$WEFT" runs --journal "$K" 2>/dev/null)
  printf '%s\n' "$out" | grep -Eq '^ *1  running +3 ' && break
  n=$((n + 1))
  [ "$n" -lt 100 ] || { kill -9 "$pid"; fail "the slow run never showed 3 calls: $out"; }
  sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null
run "$WEFT" runs --journal "$K"
printf '%s\n' "$out" | grep -Eq '^ *1  interrupted +3 ' || fail "killed run: $out"
run "$WEFT" show 1 --journal "$K"
expect_out "main  unfinished"
expect_out "└─ fanout#1@3  2 branches: "
expect_out "   └─ [1]  unfinished"
expect_out "      └─ ask#1  r  mock/m  ok"
run "$WEFT" resume 1 --journal "$K" --quiet
expect_rc 0 "resume"
run "$WEFT" show 1 --journal "$K"
[ "$(printf '%s\n' "$out" | head -n 1)" = "run 1  ok (resumed 1x)" ] || fail "resumed header: $out"
expect_out "└─ [1]  ok"
[ "$(printf '%s\n' "$out" | grep -c '(from journal)$')" = 4 ] || fail "resumed: not 4 effects from the journal: $out"
printf '%s\n' "$out" | grep -Eq 'sleep#2  3\.0s  ok  [0-9.]+s$' || fail "the sleep did not run again: $out"
run "$WEFT" runs --journal "$K" --json
expect_out '"status":"ok","state":"ok"'
expect_out '"resumes":1'
exit 0
