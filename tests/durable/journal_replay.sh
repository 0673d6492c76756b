# weft replay: a recorded run runs again with no network (the test
# server's request counter stays put) and prints the same result; --check
# passes on the unchanged program and fails (exit 1, both results) after
# an edit of its logic; an edited prompt or a new ask fails the replay at
# that ask; --check of an interrupted run is refused; a recorded failed ask
# fails the replay with the same message; the journal is not written.
. "$TESTDIR/../lib/server.sh"
J="$tmp/j.db"

# newest_run: the id of the journal's newest run.
newest_run() {
  "$WEFT" runs --journal "$J" --json | "$PY" -c 'import json, sys; print(json.load(sys.stdin)[-1]["id"])'
}
# no_requests WHAT: the server saw nothing since the last reset_stats.
no_requests() {
  [ "$(attempts)" = 0 ] || fail "$1 sent $(attempts) requests to the model server"
}

cat >"$tmp/join.weft" <<'EOF_W'
role w { model: "openai/quick" }
fn main() -> string {
  let t = fanout i in range(3) {
    ask w "part {i}"
  }
  join(barrier t, ", ")
}
EOF_W
WANT='"echo: part 0, echo: part 1, echo: part 2"'
reset_stats
run "$WEFT" run "$tmp/join.weft" --journal "$J"
expect_rc 0 "the recorded run"
[ "$out" = "$WANT" ] || fail "the recorded run gave $out"
[ "$(attempts)" = 3 ] || fail "the recorded run sent $(attempts) requests"
id=$(newest_run)
sum_before=$(cksum <"$J")

# ---- replay: same result, no network, nothing written ---------------------------
reset_stats
run "$WEFT" replay "$id" --journal "$J"
expect_rc 0 "replay"
[ "$out" = "$WANT" ] || fail "replay gave $out"
expect_err "3 calls (0 failed, 3 replayed)"
no_requests "replay"
run "$WEFT" replay "$id" --journal "$J" --check
expect_rc 0 "replay --check of the unchanged program"
expect_err "replay: the result matches run $id's"
no_requests "replay --check"
[ "$(cksum <"$J")" = "$sum_before" ] || fail "replay wrote to the journal"
[ ! -e "$J-wal" ] || [ ! -s "$J-wal" ] || fail "replay left a write-ahead log behind"
run "$WEFT" runs --journal "$J" --json
expect_out '"resumes":0'

# ---- an edit of the logic (the separator): --check fails with both results ------------
sed 's/", "/"; "/' "$tmp/join.weft" >"$tmp/edit.weft"
mv "$tmp/edit.weft" "$tmp/join.weft"
reset_stats
run "$WEFT" replay "$id" --journal "$J" --check
expect_rc 1 "replay --check after editing the separator"
expect_err "replay: the result differs from run $id's"
expect_err "  recorded: $WANT"
expect_err '  now:      "echo: part 0; echo: part 1; echo: part 2"'
[ "$out" = '"echo: part 0; echo: part 1; echo: part 2"' ] || fail "the edited replay printed $out"
no_requests "the edited replay"
# --program replays another file against the same records
sed 's/"; "/", "/' "$tmp/join.weft" >"$tmp/orig.weft"
run "$WEFT" replay "$id" --journal "$J" --check --program "$tmp/orig.weft"
expect_rc 0 "replay --check --program with the original logic"
[ "$out" = "$WANT" ] || fail "replay --program gave $out"

# ---- an edited prompt, and an ask the run never made ----------------------------
sed 's/part {i}/piece {i}/' "$tmp/orig.weft" >"$tmp/prompt.weft"
run "$WEFT" replay "$id" --journal "$J" --program "$tmp/prompt.weft"
expect_rc 1 "replay of an edited prompt"
expect_err "replay: ask w at main/fanout#1@3[0]/ask#1 differs from the call run $id recorded: the prompt changed"
expect_no_out "replay of an edited prompt"
run "$WEFT" replay "$id" --journal "$J" --program "$tmp/prompt.weft" --check
expect_rc 1 "replay --check of an edited prompt"
expect_err "  recorded: $WANT"
expect_err "  now:      failed: branch 0 failed: replay: ask w at main/fanout#1@3[0]/ask#1 differs"
sed 's/range(3)/range(4)/' "$tmp/orig.weft" >"$tmp/more.weft"
run "$WEFT" replay "$id" --journal "$J" --program "$tmp/more.weft"
expect_rc 1 "replay with one ask more"
expect_err "replay: run $id has no record of ask w at main/fanout#1@3[3]/ask#1 (the recorded run never made this call)"
# another model for the role is a different call too
run "$WEFT" replay "$id" --journal "$J" --program "$tmp/orig.weft" --model w=openai/other
expect_rc 1 "replay with another model"
expect_err "differs from the call run $id recorded: the model changed"
no_requests "the failing replays"
[ "$(cksum <"$J")" = "$sum_before" ] || fail "the failing replays wrote to the journal"

# ---- a recorded failed ask fails the replay with the same message -------------------
cat >"$tmp/bad.weft" <<'EOF_W'
role good { model: "openai/quick" }
role bad { model: "openai/fault-500" }
fn main() -> string {
  let a = ask good "first"
  let b = ask bad "then {a}"
  a + b
}
EOF_W
reset_stats
run "$WEFT" run "$tmp/bad.weft" --journal "$J" --retries 0
expect_rc 1 "the run with a failing ask"
first_error=$(printf '%s\n' "$err" | grep '^error: ')
[ -n "$first_error" ] || fail "the failing run printed no error: $err"
contains "$first_error" "ask bad (openai/fault-500): HTTP 500" || fail "the failing run: $first_error"
fid=$(newest_run)
reset_stats
run "$WEFT" replay "$fid" --journal "$J"
expect_rc 1 "replay of the failed run"
[ "$(printf '%s\n' "$err" | grep '^error: ')" = "$first_error" ] || fail "replay's error differs:
recorded: $first_error
replay:   $(printf '%s\n' "$err" | grep '^error: ')"
expect_err "2 calls (1 failed, 2 replayed)"
# the replay matches, and fails as the run did (exit 1: "it failed")
run "$WEFT" replay "$fid" --journal "$J" --check
expect_rc 1 "replay --check of the failed run"
expect_err "replay: the result matches run $fid's"
no_requests "replaying the failed run"

# ---- --check of an interrupted run is refused -------------------------------------
cat >"$tmp/slow.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() -> string {
  let a = ask r "a"
  sleep(30s)
  a
}
EOF_W
"$WEFT" run "$tmp/slow.weft" --provider mock --journal "$J" --quiet >/dev/null 2>&1 &
spid=$!
sid=$((fid + 1))
n=0
until "$WEFT" runs --journal "$J" --json 2>/dev/null | "$PY" -c 'import json, sys
r = [x for x in json.load(sys.stdin) if x["id"] == int(sys.argv[1])]
sys.exit(0 if r and r[0]["calls"] == 1 else 1)' "$sid"; do
  n=$((n + 1))
  [ "$n" -lt 400 ] || { kill -9 "$spid"; fail "the slow run never made its ask"; }
  sleep 0.025
done
kill -9 "$spid"
wait "$spid" 2>/dev/null
run "$WEFT" replay "$sid" --journal "$J" --check
expect_rc 2 "replay --check of an interrupted run"
expect_err "replay --check: run $sid never finished (running), so there is no result to compare with"
expect_err "\`weft resume $sid\` finishes it"
[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "replay --check of an interrupted run: $err"
expect_no_out "replay --check of an interrupted run"

# ---- offline means no key is needed either --------------------------------------
# Replay answers every ask from the journal, so it must not ask for the
# API key that only a live call needs.
reset_stats
run env -u OPENAI_API_KEY "$WEFT" replay "$id" --journal "$J" --program "$tmp/orig.weft"
expect_rc 0 "replay without OPENAI_API_KEY"
[ "$out" = "$WANT" ] || fail "replay without a key gave $out"
no_requests "replay without a key"
exit 0
