# now() and since() are journaled clock readings: a replay prints the same
# times, a resume after kill -9 answers the recorded reading (a new one
# would differ), and a journal record that is not a reading is a clear
# error, never a made-up time.
. "$TESTDIR/../lib/common.sh"
PY=${PYTHON:-python3}
J="$tmp/j.db"

cat >"$tmp/c.weft" <<'EOF_W'
fn main() {
  let a = now()
  sleep(20ms)
  let b = now()
  print(a)
  print(b)
  print(since(a))
}
EOF_W
run "$WEFT" run "$tmp/c.weft" --journal "$J" --quiet
expect_rc 0 "a run reading the clock"
first=$out
a=$(printf '%s\n' "$out" | sed -n 1p)
b=$(printf '%s\n' "$out" | sed -n 2p)
[ "$b" -ge $((a + 15)) ] || fail "now() did not move over a sleep of 20ms: $out"
sleep 0.1
run "$WEFT" replay 1 --journal "$J" --check
expect_rc 0 "replay --check"
[ "$out" = "$first" ] || fail "the replay read other times:
replay: $out
run:    $first"
run "$WEFT" replay 1 --journal "$J"
[ "$out" = "$first" ] || fail "a second replay read other times: $out"

# kill -9 after the first reading is journaled (an ask commits it), then
# resume: the first reading is the recorded one
cat >"$tmp/k.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() {
  let t0 = now()
  let _a = ask r "commit"
  sleep(3s)
  print(t0)
  print(since(t0) >= 3s)
}
EOF_W
"$WEFT" run "$tmp/k.weft" --provider mock --journal "$J" --quiet >/dev/null 2>"$tmp/kill.err" &
kpid=$!
k=0
until "$WEFT" runs --journal "$J" --json 2>/dev/null | grep -q '"id":2,.*"calls":1,.*"locked":true'; do
  k=$((k + 1))
  [ "$k" -lt 2000 ] || { kill -9 "$kpid"; fail "run 2 never journaled its ask: $(cat "$tmp/kill.err")"; }
  sleep 0.025
done
kill -9 "$kpid"
wait "$kpid" 2>/dev/null
recorded=$("$PY" -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT response FROM effects WHERE run = 2 AND kind = ?", ("clock",)).fetchone()[0])' "$J") ||
  fail "no clock record for run 2"
sleep 0.05
run "$WEFT" resume 2 --journal "$J"
expect_rc 0 "resume after kill -9"
[ "$out" = "$(printf '%s\ntrue' "$recorded")" ] || fail "the resume read a new time: $out (recorded $recorded)"

# a damaged or hostile record: a clear error naming the reading
"$PY" -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE effects SET response = ? WHERE run = 1 AND kind = ?", ("12abc", "clock"))
db.commit()' "$J"
run "$WEFT" replay 1 --journal "$J"
expect_rc 1 "replay of a damaged clock record"
expect_no_crash "replay of a damaged clock record"
expect_err "main/clock#1: the record of this clock reading in run 1 is not a time"
for bad in " 12" "+12" "-5" "99999999999999999999999" ""; do
  "$PY" -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE effects SET response = ? WHERE run = 1 AND kind = ?", (sys.argv[2], "clock"))
db.commit()' "$J" "$bad"
  run "$WEFT" replay 1 --journal "$J"
  expect_rc 1 "replay of the clock record '$bad'"
  expect_no_crash "replay of the clock record '$bad'"
  expect_err "is not a time"
done
exit 0
