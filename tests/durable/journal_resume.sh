# weft resume: a mock run killed with kill -9 finishes with the result of
# an uninterrupted run, answering its finished effects from the journal; a
# finished run is refused; a changed program is refused with both module
# hashes unless --force; a deleted program runs from the journal's module;
# a run in use (still running, or being resumed) is refused; a run that
# failed on an ask goes out again for that ask only, with --model
# overriding the recorded flags; a recorded budget and a recorded
# --provider mock stay in force on resume.
. "$TESTDIR/../lib/server.sh"
J="$tmp/j.db"

# run_state ID FIELD...: fields of run ID from `weft runs --json`, space-separated.
run_state() {
  id=$1
  shift
  "$WEFT" runs --journal "$J" --json 2>/dev/null | "$PY" -c 'import json, sys
r = [x for x in json.load(sys.stdin) if x["id"] == int(sys.argv[1])]
print(" ".join(json.dumps(r[0][k]) for k in sys.argv[2:]) if r else "none")' "$id" "$@" 2>/dev/null
}
# wait_calls ID N PID: waits until run ID has at least N calls in the
# journal and is locked (its process lives); kills PID on a timeout.
wait_calls() {
  k=0
  while :; do
    set -- "$1" "$2" "$3" $(run_state "$1" calls locked)
    [ "$4" != none ] && [ "${4:-0}" -ge "$2" ] && [ "$5" = true ] && return 0
    k=$((k + 1))
    [ "$k" -lt 400 ] || { kill -9 "$3" 2>/dev/null; fail "run $1 never reached $2 calls: $4 $5"; }
    sleep 0.025
  done
}
# kill_run PROGRAM N [FLAGS...]: starts `weft run PROGRAM FLAGS`, kills it
# with SIGKILL once N calls are journaled; prints nothing, sets $killed_id.
kill_run() {
  p=$1 n=$2
  shift 2
  "$WEFT" run "$p" --journal "$J" --quiet "$@" >/dev/null 2>"$tmp/kill.err" &
  kpid=$!
  # the new run is the journal's newest
  k=0
  until killed_id=$("$WEFT" runs --journal "$J" --json 2>/dev/null | "$PY" -c 'import json, sys
rs = json.load(sys.stdin); print(rs[-1]["id"] if rs and rs[-1]["locked"] else "")' 2>/dev/null) &&
    [ -n "$killed_id" ]; do
    k=$((k + 1))
    [ "$k" -lt 400 ] || { kill -9 "$kpid"; fail "the run of $p never started: $(cat "$tmp/kill.err")"; }
    sleep 0.025
  done
  wait_calls "$killed_id" "$n" "$kpid"
  kill -9 "$kpid"
  wait "$kpid" 2>/dev/null
  [ "$(run_state "$killed_id" state)" = '"interrupted"' ] || fail "killed run $killed_id: $(run_state "$killed_id" state)"
}

# ---- kill -9 of a fan-out of sleeps and asks, then resume ----------------------
cat >"$tmp/slow.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() -> list[string] {
  let t = fanout i in range(24) limit 2 {
    sleep(200ms)
    ask r "item {i}"
  }
  barrier t
}
EOF_W
run "$WEFT" run "$tmp/slow.weft" --provider mock --no-journal --quiet
expect_rc 0 "the uninterrupted run"
full=$out
kill_run "$tmp/slow.weft" 2 --provider mock
[ "$killed_id" = 1 ] || fail "the killed run is run $killed_id"
run "$WEFT" resume 1 --journal "$J"
expect_rc 0 "resume after kill -9"
[ "$out" = "$full" ] || fail "the resumed result differs:
resumed: $out
whole:   $full"
expect_err "resuming run 1 ("
replayed=$(printf '%s\n' "$err" | sed -n 's/.*24 calls (0 failed, \([0-9]*\) replayed).*/\1/p')
[ -n "$replayed" ] && [ "$replayed" -ge 2 ] && [ "$replayed" -lt 24 ] ||
  fail "the resume replayed '$replayed' calls, expected 2..7: $err"
[ "$(run_state 1 status resumes)" = '"ok" 1' ] || fail "run 1 after the resume: $(run_state 1 status resumes)"

# A finished run is not resumed.
run "$WEFT" resume 1 --journal "$J"
expect_rc 2 "resume of a finished run"
expect_err "resume: run 1 already finished (ok); \`weft replay 1\` runs it again offline"
expect_no_out "resume of a finished run"

# ---- a changed program: refused with both hashes, then --force ---------------------
cat >"$tmp/edit.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() -> string {
  let a = ask r "one"
  let b = ask r "two"
  fail("not yet: {len(a + b)}")
}
EOF_W
run "$WEFT" run "$tmp/edit.weft" --provider mock --journal "$J"
expect_rc 1 "the run that fails"
expect_err "run 2 (journal $J)"
old_hash=$(run_state 2 module_hash | tr -d '"')
sed 's/fail("not yet: {len(a + b)}")/a + " \& " + b/' "$tmp/edit.weft" >"$tmp/edit.new"
mv "$tmp/edit.new" "$tmp/edit.weft"
run "$WEFT" resume 2 --journal "$J"
expect_rc 2 "resume of a changed program"
expect_err "resume: $tmp/edit.weft has changed since run 2 started (module $old_hash in the journal, "
new_hash=$(printf '%s\n' "$err" | sed -n 's/.* in the journal, \([0-9a-f]\{16\}\) now).*/\1/p')
[ -n "$new_hash" ] && [ "$new_hash" != "$old_hash" ] || fail "the refusal does not name the new hash: $err"
expect_err "--force"
[ "$(run_state 2 status resumes)" = '"failed" 0' ] || fail "the refused resume changed run 2"
run "$WEFT" resume 2 --journal "$J" --force
expect_rc 0 "resume --force"
case "$out" in '"mock reply #'*' to: one & mock reply #'*' to: two"') ;; *) fail "resume --force: $out" ;; esac
expect_err "2 calls (0 failed, 2 replayed)"

# ---- the program file is gone: the journal's module runs ---------------------------
cp "$tmp/slow.weft" "$tmp/gone.weft"
kill_run "$tmp/gone.weft" 1 --provider mock
rm "$tmp/gone.weft"
run "$WEFT" resume "$killed_id" --journal "$J"
expect_rc 0 "resume of a deleted program"
expect_err "resume: $tmp/gone.weft is gone; running the module recorded in the journal"
[ "$out" = "$full" ] || fail "the journal's module gave $out"

# ---- flags recorded with the run: --provider mock stays offline -------------------
sed 's#model: "mock/m"#model: "openai/gpt-real"#' "$tmp/slow.weft" >"$tmp/real.weft"
kill_run "$tmp/real.weft" 2 --provider mock
[ "$(run_state "$killed_id" options)" = '["--provider=mock"]' ] ||
  fail "recorded flags: $(run_state "$killed_id" options)"
reset_stats
# no key and no endpoint: only the mock can answer
run env -u OPENAI_API_KEY OPENAI_BASE_URL=http://127.0.0.1:9 "$WEFT" resume "$killed_id" --journal "$J"
expect_rc 0 "resume of a mock run without a key"
[ "$out" = "$full" ] || fail "the mock resume gave $out"
[ "$(attempts)" = 0 ] || fail "the mock resume sent $(attempts) requests"

# ---- a budget recorded with the run stays in force -----------------------------------
cat >"$tmp/five.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() -> int {
  var n = 0
  for i in range(5) {
    n = n + len(ask r "q {i}")
  }
  n
}
EOF_W
run "$WEFT" run "$tmp/five.weft" --provider mock --budget-calls 3 --journal "$J"
expect_rc 1 "the run over its budget"
expect_err "error: budget exhausted: calls 3/3"
bid=$("$WEFT" runs --journal "$J" --json | "$PY" -c 'import json, sys; print(json.load(sys.stdin)[-1]["id"])')
run "$WEFT" resume "$bid" --journal "$J"
expect_rc 1 "resume keeps the budget"
expect_err "error: budget exhausted: calls 3/3"
expect_err "3 calls (0 failed, 3 replayed)"
# a budget on the command line overrides the recorded one
run "$WEFT" resume "$bid" --journal "$J" --budget-calls 5
expect_rc 0 "resume with a larger budget"
expect_err "5 calls (0 failed, 3 replayed)"
run "$WEFT" run "$tmp/five.weft" --provider mock --no-journal --quiet
[ "$out" -gt 0 ] 2>/dev/null || fail "five.weft gave $out"
[ "$(run_state "$bid" result)" = "$out" ] || fail "the budget resume's result $(run_state "$bid" result), not $out"

# ---- a failed ask goes out again; the ok ones do not ----------------------------
cat >"$tmp/two.weft" <<'EOF_W'
role good { model: "openai/quick" }
role bad { model: "openai/fault-500" }
fn main() -> string {
  let a = ask good "first question"
  let b = ask bad "second question after {a}"
  a + " | " + b
}
EOF_W
reset_stats
run "$WEFT" run "$tmp/two.weft" --retries 0 --journal "$J"
expect_rc 1 "the run whose ask fails"
expect_err "ask bad (openai/fault-500): HTTP 500"
fid=$("$WEFT" runs --journal "$J" --json | "$PY" -c 'import json, sys; print(json.load(sys.stdin)[-1]["id"])')
[ "$(attempts)" = 2 ] || fail "the failing run sent $(attempts) requests"
reset_stats
run "$WEFT" resume "$fid" --journal "$J" --model bad=openai/quick
expect_rc 0 "resume with the role switched"
[ "$out" = '"echo: first question | echo: second question after echo: first question"' ] ||
  fail "resume with the role switched: $out"
expect_err "2 calls (0 failed, 1 replayed)"
[ "$(attempts)" = 1 ] || fail "the resume sent $(attempts) requests, expected only the failed ask"
same_json "$(stats attempts_by_prompt)" '{"second question after echo: first question": 1}' ||
  fail "the resume asked: $(stats attempts_by_prompt)"
[ "$(run_state "$fid" status)" = '"ok"' ] || fail "run $fid after the resume: $(run_state "$fid" status)"

# ---- one process per run ---------------------------------------------------------
# Each ask takes 1.5 s at the server, so the run stays in progress.
cat >"$tmp/held.weft" <<'EOF_W'
role slow { model: "openai/slow-1500" }
fn main() -> string {
  let a = ask slow "a"
  let b = ask slow "b"
  let c = ask slow "c"
  a + b + c
}
EOF_W
"$WEFT" run "$tmp/held.weft" --journal "$J" --quiet >/dev/null 2>&1 &
rpid=$!
hid=$(($(run_state "$fid" id) + 1))
wait_calls "$hid" 0 "$rpid"
run "$WEFT" resume "$hid" --journal "$J"
expect_rc 2 "resume of a run still running"
expect_err "resume: run $hid is in use by another weft process (pid $rpid)"
wait_calls "$hid" 1 "$rpid"
kill -9 "$rpid"
wait "$rpid" 2>/dev/null
# how many asks the journal holds at the kill: 1, or 2 when a loaded
# machine polled slower than an ask (1.5 s) — the resume replays exactly those
held=$(run_state "$hid" calls)
[ "$held" -ge 1 ] && [ "$held" -le 2 ] || fail "run $hid held $held calls at the kill"
"$WEFT" resume "$hid" --journal "$J" >"$tmp/resume1.out" 2>"$tmp/resume1.err" &
r1=$!
wait_calls "$hid" 1 "$r1"
run "$WEFT" resume "$hid" --journal "$J"
expect_rc 2 "a second resume at once"
expect_err "resume: run $hid is in use by another weft process (pid $r1)"
wait "$r1" || fail "the first resume failed: $(cat "$tmp/resume1.err")"
[ "$(cat "$tmp/resume1.out")" = '"echo: aecho: becho: c"' ] || fail "the first resume gave $(cat "$tmp/resume1.out")"
grep -q "3 calls (0 failed, $held replayed)" "$tmp/resume1.err" || fail "the first resume: $(cat "$tmp/resume1.err")"
[ "$(run_state "$hid" status resumes)" = '"ok" 1' ] || fail "run $hid: $(run_state "$hid" status resumes)"
exit 0
