# The crash test of durable runs: a 300-ask fan-out (typed and untyped asks,
# `limit 8`, a slow model) plus a synthesis ask over every reply, against
# the local test server. `weft run --journal` and then `weft resume` are
# killed with SIGKILL at random moments until 20 kills have landed on a live
# process; then the run is resumed to the end. Asserted:
#  (a) the result equals that of an uninterrupted run (a journal of its own);
#  (b) no finished call is repeated: a prompt whose reply was committed ok
#      before a round is never requested from the server in that round;
#      and every committed reply is one the server finished sending;
#  (c) the journal holds 301 effects, all ok, and passes PRAGMA quick_check
#      after the kills and at the end;
#  (d) each resume says "resuming run N (K recorded effects" with K the
#      journal's effect count at that moment, never decreasing.
# The random delays come from a seed printed in the summary on stderr;
# JOURNAL_KILL_SEED=N reproduces a sequence.
. "$TESTDIR/../lib/server.sh"

KILLS=20
J="$tmp/kill.db"
cat >"$tmp/kill.weft" <<'EOF_W'
type Fact = { name: string, count: int }
role r { model: "openai/jitter-80-200" }

fn main() -> { replies: int, digest: string, summary: string } {
  let t = fanout i in range(300) limit 8 {
    if i % 3 == 0 {
      let f = ask r "typed question {i}" -> Fact
      "{f.name}/{f.count + i}"
    } else {
      ask r "plain question {i}"
    }
  }
  let replies = barrier t
  let digest = join(replies, "|")
  let summary = ask r "synthesize {len(replies)} replies, {len(digest)} chars: {digest}"
  { replies: len(replies), digest: digest, summary: summary }
}
EOF_W

# jk.py: what the script reads from the journal (read-only) and the server.
cat >"$tmp/jk.py" <<'EOF_P'
import json, sqlite3, sys

def journal(path):
    return sqlite3.connect("file:" + path + "?mode=ro", uri=True)

def ok_prompts(db):
    # The server keys its counts by the first 300 characters of the prompt.
    return {json.loads(req)["prompt"][:300]
            for (req,) in db.execute("SELECT request FROM effects WHERE ok = 1")}

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "committed":        # J OUT: ok prompts to OUT; prints the effect count
    db = journal(args[0])
    json.dump(sorted(ok_prompts(db)), open(args[1], "w"))
    print(db.execute("SELECT count(*) FROM effects").fetchone()[0])
elif cmd == "repeated":       # OKFILE STATS: committed prompts the server saw again
    ok = set(json.load(open(args[0])))
    seen = json.load(open(args[1]))["attempts_by_prompt"]
    bad = sorted(p for p in seen if p in ok)
    print(len(bad), "; ".join(bad[:3]))
elif cmd == "completed":      # STATS ALL: adds the completed responses to ALL
    try:
        done = json.load(open(args[1]))
    except FileNotFoundError:
        done = {}
    for p, n in json.load(open(args[0]))["completed_by_prompt"].items():
        done[p] = done.get(p, 0) + n
    json.dump(done, open(args[1], "w"))
elif cmd == "unsent":         # J ALL: committed replies the server never finished
    bad = sorted(ok_prompts(journal(args[0])) - set(json.load(open(args[1]))))
    print(len(bad), "; ".join(bad[:3]))
elif cmd == "state":          # J: effects, ok effects, quick_check, status
    db = journal(args[0])
    n, ok = db.execute("SELECT count(*), coalesce(sum(ok), 0) FROM effects").fetchone()
    qc = db.execute("PRAGMA quick_check").fetchone()[0]
    st = db.execute("SELECT group_concat(status) FROM runs").fetchone()[0]
    print(n, ok, qc, st)
elif cmd == "result":         # J: the run's recorded result
    print(journal(args[0]).execute("SELECT result FROM runs").fetchone()[0])
elif cmd == "per_prompt":     # STATS: requests, distinct prompts, max per prompt
    a = json.load(open(args[0]))["attempts_by_prompt"]
    print(sum(a.values()), len(a), max(a.values(), default=0))
EOF_P
jk() {
  "$PY" "$tmp/jk.py" "$@" || fail "reading the journal or the server's statistics failed ($1)"
}
save_stats() {
  stats >"$tmp/stats.json" || fail "cannot read the server's statistics"
}

# The delays: a 31-bit LCG, so a failing sequence can be replayed.
seed=${JOURNAL_KILL_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
rnd=$seed
# delay: sets $delay to a random 0.030 .. 0.250 (seconds).
next_delay() {
  rnd=$(((rnd * 1103515245 + 12345) % 2147483648))
  delay=$(printf '0.%03d' $((30 + (rnd / 65536) % 221)))
}

# (a)'s reference: the same program, uninterrupted, with a journal of its own.
reset_stats
run "$WEFT" run "$tmp/kill.weft" --journal "$tmp/ref.db" --quiet
expect_rc 0 "the uninterrupted run"
ref=$out
save_stats
set -- $(jk per_prompt "$tmp/stats.json")
[ "$1 $2 $3" = "301 301 1" ] ||
  fail "the uninterrupted run: expected 301 requests, one per prompt; got $1 requests, $2 prompts, at most $3 each"

# start CMD...: starts a weft process in the background ($pid, output in
# $tmp/r.out and $tmp/r.err) and waits until it names its run on stderr.
# The files are emptied here, before the fork: a redirection done by the
# background child could truncate them only after the wait below had read
# the previous round's line.
start() {
  : >"$tmp/r.out"
  : >"$tmp/r.err"
  "$@" >>"$tmp/r.out" 2>>"$tmp/r.err" </dev/null &
  pid=$!
  i=0
  until grep -q "run [0-9]* (" "$tmp/r.err"; do
    kill -0 "$pid" 2>/dev/null || break
    i=$((i + 1))
    [ "$i" -le 1000 ] || fail "round $round: weft did not name its run within 10 s: $(cat "$tmp/r.err")"
    sleep 0.01
  done
}

# after_round: (b) for the round that just ended, and what the server finished.
after_round() {
  save_stats
  bad=$(jk repeated "$tmp/ok.json" "$tmp/stats.json")
  [ "$bad" = "0 " ] || fail "round $round: calls committed before the round were sent again: ${bad%% *} (e.g. ${bad#* })"
  jk completed "$tmp/stats.json" "$tmp/completed.json"
}

landed=0 round=0 lastk=-1 summary="" id=""
printf '[]' >"$tmp/ok.json"
while [ "$landed" -lt "$KILLS" ]; do
  round=$((round + 1))
  [ "$round" -le $((KILLS * 3)) ] || fail "only $landed kills landed in $((round - 1)) rounds"
  reset_stats
  if [ -z "$id" ]; then
    start "$WEFT" run "$tmp/kill.weft" --journal "$J"
    id=$(sed -n 's/^weft: run \([0-9]*\) (journal .*/\1/p' "$tmp/r.err")
    [ -n "$id" ] || fail "weft run did not print its run id: $(cat "$tmp/r.err")"
  else
    n=$(jk committed "$J" "$tmp/ok.json")
    reset_stats
    start "$WEFT" resume "$id" --journal "$J"
    k=$(sed -n "s/^weft: resuming run $id (\([0-9]*\) recorded effects\{0,1\};.*/\1/p" "$tmp/r.err")
    [ -n "$k" ] || fail "round $round: no 'resuming run $id (K recorded effects' line: $(cat "$tmp/r.err")"
    [ "$k" = "$n" ] || fail "round $round: resume reports $k recorded effects, the journal holds $n"
    [ "$k" -ge "$lastk" ] || fail "round $round: recorded effects went down from $lastk to $k"
    lastk=$k
    summary="$summary $k"
  fi
  next_delay
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  after_round
  case $rc in
    137) landed=$((landed + 1)) ;;
    0) fail "the run finished after only $landed kills (round $round): the workload is too small for this machine" ;;
    *) fail "round $round: weft exited $rc before the kill: $(cat "$tmp/r.err")" ;;
  esac
done

# (c) after the kills: an intact journal, not finished yet.
set -- $(jk state "$J")
[ "$4" = running ] || fail "after the kills the run is $4, not running"
[ "$3" = ok ] || fail "PRAGMA quick_check after $landed kills: $3"
[ "$1" -lt 301 ] || fail "all 301 effects were recorded before the last kill: the kills came too late"

# Resume to the end (one live resume finishes it).
n=$(jk committed "$J" "$tmp/ok.json")
round=$((round + 1))
reset_stats
run "$WEFT" resume "$id" --journal "$J"
expect_rc 0 "the final resume"
expect_err "resuming run $id ($n recorded effect"
[ "$n" -ge "$lastk" ] || fail "the final resume: recorded effects went down from $lastk to $n"
summary="$summary $n"
after_round

# (a) the same result as the uninterrupted run, on stdout and in the journal.
[ "$out" = "$ref" ] || fail "the resumed run's result differs from the uninterrupted run's:
resumed:       $(printf %s "$out" | cut -c1-200)
uninterrupted: $(printf %s "$ref" | cut -c1-200)"
same_json "$(jk result "$J")" "$ref" || fail "the journal's result differs from the uninterrupted run's"
contains "$ref" '"replies":300' || fail "unexpected result: $(printf %s "$ref" | cut -c1-200)"

# (c) at the end: one effect per ask, all ok, intact.
set -- $(jk state "$J")
[ "$1 $2" = "301 301" ] || fail "expected 301 effects, all ok; the journal has $1 ($2 ok)"
[ "$3" = ok ] || fail "PRAGMA quick_check at the end: $3"
[ "$4" = ok ] || fail "the run is $4 at the end"
# (b) every committed reply is one the server finished sending.
bad=$(jk unsent "$J" "$tmp/completed.json")
[ "$bad" = "0 " ] || fail "replies in the journal that the server never sent in full: ${bad%% *} (e.g. ${bad#* })"

echo "journal_kill: seed $seed: $landed kills landed in $((round - 1)) rounds; recorded effects at each resume:$summary" >&2
exit 0
