# Resume and replay of a run whose budget ran out: the asks admitted are
# journaled (kind ask, ok), the refusals are not (a budget's refusal is the
# run's own decision), and a resume after kill -9 or a replay makes the
# same decisions again: the recorded replies are charged to the budget, the
# same asks are refused with kind budget, the output is the same.
. "$TESTDIR/../lib/common.sh"
PY=${PYTHON:-python3}
J="$tmp/j.db"

cat >"$tmp/b.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() -> int {
  let j = budget { calls: 3 } {
    barrier fanout i in range(6) limit 1 { ask r "item {i}" } tolerate 100%
  }
  print(len(j.ok))
  print(join(map(j.failed, fn(e) => "{e.branch}:{e.kind}"), ","))
  sleep(3s)
  len(j.ok)
}
EOF_W

# what an uninterrupted run prints
full=$(printf '3\n3:budget,4:budget,5:budget\n3')

# kill -9 during the sleep, once the three replies are journaled
"$WEFT" run "$tmp/b.weft" --provider mock --journal "$J" --quiet >/dev/null 2>"$tmp/kill.err" &
kpid=$!
k=0
until "$WEFT" runs --journal "$J" --json 2>/dev/null | grep -q '"id":1,.*"calls":3,.*"locked":true'; do
  k=$((k + 1))
  [ "$k" -lt 2000 ] || { kill -9 "$kpid"; fail "the run never journaled 3 asks: $(cat "$tmp/kill.err")"; }
  sleep 0.025
done
kill -9 "$kpid"
wait "$kpid" 2>/dev/null

# what the journal holds: the three asks, no budget failure
kinds=$("$PY" -c 'import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(" ".join("%s:%s:%s" % r for r in db.execute("SELECT kind, ok, coalesce(error_kind, \"-\") FROM effects ORDER BY addr")))' "$J")
[ "$kinds" = "ask:1:- ask:1:- ask:1:-" ] || fail "the journal holds: $kinds"

run "$WEFT" resume 1 --journal "$J"
expect_rc 0 "resume after kill -9"
[ "$out" = "$full" ] || fail "the resumed run differs:
resumed: $out
whole:   $full"
expect_err "3 replayed"

# replay: offline, the same refusals, the same result
run "$WEFT" replay 1 --journal "$J" --check
expect_rc 0 "replay --check"
[ "$out" = "$full" ] || fail "the replay differs: $out"
expect_err "matches"
exit 0
