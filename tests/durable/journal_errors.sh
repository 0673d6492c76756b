# Journals that cannot be used: each gives one clear line naming the file,
# the documented exit code, and no crash. Missing, a text file, truncated
# (half, and the first 100 bytes), a newer format version, an SQLite file
# that is not ours, a read-only file and directory, a journal locked by
# another process, a disk that fills up during a run (the run fails, what
# was committed stays and `weft resume` finishes it), unknown and bad run
# ids, and `last` in an empty journal.
. "$TESTDIR/../lib/common.sh"
PROG="$TESTDIR/../trace/fanout.weft"

# one_line WHAT: stderr is exactly one line.
one_line() {
  [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "$1: not one line of stderr: $err"
}
# refused WHAT RC WORDS...: the last command exited RC (no crash) with one
# line of stderr that holds every WORDS.
refused() {
  what=$1 code=$2
  shift 2
  expect_no_crash "$what"
  expect_rc "$code" "$what"
  one_line "$what"
  for w in "$@"; do expect_err "$w"; done
}
# sql DB STATEMENT: prints the rows python3's sqlite3 returns.
sql() {
  python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for row in c.execute(sys.argv[2]): print("|".join(str(x) for x in row))' "$1" "$2" ||
    fail "python3 sqlite3 could not read $1"
}
# journal_cmds DB WORDS...: run, resume and replay on DB are all refused
# with exit 2 and WORDS.
journal_cmds() {
  db=$1
  shift
  run "$WEFT" run "$PROG" --provider mock --journal "$db"
  refused "run on $db" 2 "$@"
  run "$WEFT" resume 1 --journal "$db"
  refused "resume on $db" 2 "$@"
  run "$WEFT" replay 1 --journal "$db"
  refused "replay on $db" 2 "$@"
}

# A real journal with three finished runs.
J="$tmp/j.db"
for i in 1 2 3; do
  run "$WEFT" run "$PROG" --provider mock --journal "$J" --quiet
  expect_rc 0 "run $i"
done
[ "$(sql "$J" 'PRAGMA quick_check')" = ok ] || fail "the real journal is not sound"

# ---- missing ------------------------------------------------------------
run "$WEFT" replay 1 --journal "$tmp/none.db"
refused "replay without a journal" 2 "no journal at $tmp/none.db" "see --journal"
[ ! -e "$tmp/none.db" ] || fail "replay created the journal it did not find"
# resume writes to a journal, but never makes one: there is nothing to resume
run "$WEFT" resume 1 --journal "$tmp/none.db"
refused "resume without a journal" 2 "no journal at $tmp/none.db"
run "$WEFT" resume last --journal "$tmp/sub/new.db"
refused "resume in a missing directory" 2 "no journal at $tmp/sub/new.db"
[ ! -e "$tmp/none.db" ] && [ ! -e "$tmp/sub" ] || fail "resume created a journal: $(ls "$tmp")"

# ---- a text file ----------------------------------------------------------
printf 'these are my notes, not a database\n' >"$tmp/notes.db"
cp "$tmp/notes.db" "$tmp/notes.orig"
journal_cmds "$tmp/notes.db" "$tmp/notes.db is not a weft journal"
cmp -s "$tmp/notes.db" "$tmp/notes.orig" || fail "the text file was changed"
: >"$tmp/zero.db"
run "$WEFT" replay 1 --journal "$tmp/zero.db"
refused "replay of an empty file" 2 "$tmp/zero.db is not a weft journal"

# ---- truncated: half of it, and its first 100 bytes --------------------------
size=$(wc -c <"$J")
[ "$size" -gt 8192 ] || fail "the real journal is only $size bytes"
head -c $((size / 2)) "$J" >"$tmp/half.db"
head -c 100 "$J" >"$tmp/h100.db"
for t in half h100; do
  journal_cmds "$tmp/$t.db" "the journal $tmp/$t.db is damaged" "move it aside to start a new one"
  run "$WEFT" runs --journal "$tmp/$t.db"
  refused "runs on $t.db" 2 "the journal $tmp/$t.db is damaged"
done

# ---- a newer format --------------------------------------------------------
cp "$J" "$tmp/v99.db"
sql "$tmp/v99.db" 'PRAGMA user_version = 99' >/dev/null
[ "$(sql "$tmp/v99.db" 'PRAGMA user_version')" = 99 ] || fail "could not set user_version"
journal_cmds "$tmp/v99.db" "the journal $tmp/v99.db has format version 99; this weft reads version 1" \
  "(upgrade weft)"
run "$WEFT" runs --journal "$tmp/v99.db"
refused "runs on v99.db" 2 "has format version 99"
[ "$(sql "$tmp/v99.db" 'SELECT count(*) FROM runs')" = 3 ] || fail "the v99 journal lost its runs"

# ---- an SQLite database that is not ours: refused and left alone ---------------
sql "$tmp/other.db" 'CREATE TABLE notes(id INTEGER PRIMARY KEY, text TEXT)' >/dev/null
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("INSERT INTO notes(text) VALUES (?)", ("keep me",)); c.commit()' \
  "$tmp/other.db" || fail "could not fill other.db"
journal_cmds "$tmp/other.db" "$tmp/other.db is not a weft journal"
[ "$(sql "$tmp/other.db" "SELECT group_concat(name) FROM sqlite_master")" = notes ] ||
  fail "weft added tables to someone else's database: $(sql "$tmp/other.db" 'SELECT name FROM sqlite_master')"
[ "$(sql "$tmp/other.db" 'SELECT text FROM notes')" = "keep me" ] || fail "other.db lost its row"

# ---- unknown and bad run ids; last in an empty journal -----------------------
cp "$J" "$tmp/empty.db"
python3 -c 'import sqlite3, sys
sqlite3.connect(sys.argv[1]).executescript("DELETE FROM events; DELETE FROM effects; DELETE FROM runs;")' \
  "$tmp/empty.db" || fail "cannot empty a copy of the journal"
[ "$(sql "$tmp/empty.db" 'SELECT count(*) FROM runs')" = 0 ] || fail "the empty journal has runs"
for c in resume replay; do
  run "$WEFT" $c 7 --journal "$J"
  refused "$c 7" 2 "no run 7 in $J"
  for id in abc 0 99999999999999999999; do
    run "$WEFT" $c "$id" --journal "$J"
    refused "$c $id" 2 "'$id' is not a run id"
  done
  # "-1" reads as a flag; either way it is named and refused
  run "$WEFT" $c -1 --journal "$J"
  refused "$c -1" 2 "'-1'"
  run "$WEFT" $c --journal "$J"
  refused "$c without a run" 2 "no run given"
  run "$WEFT" $c last --journal "$tmp/empty.db"
  refused "$c last in an empty journal" 2 "no runs in $tmp/empty.db yet"
done

# ---- a read-only journal and directory ---------------------------------------
# chmod does not stop root, so as root the file is made immutable
# (chattr +i) when the file system allows it, or weft runs as nobody
# (setpriv) when that user can run it; with neither, these checks are
# left out (they always run as an ordinary user).
# chattr_bites: root can set the immutable flag here, and it stops root.
chattr_bites() {
  command -v chattr >/dev/null 2>&1 && : >"$tmp/probe" && chattr +i "$tmp/probe" 2>/dev/null || return 1
  (: >>"$tmp/probe") 2>/dev/null
  wrote=$?
  chattr -i "$tmp/probe"
  [ "$wrote" != 0 ]
}
ASUSER=""
ro_how=""
if [ "$(id -u)" != 0 ]; then
  ro_how=chmod
elif chattr_bites; then
  ro_how=chattr
elif command -v setpriv >/dev/null 2>&1 &&
  setpriv --reuid=65534 --regid=65534 --clear-groups "$WEFT" --version >/dev/null 2>&1; then
  ro_how=chmod
  ASUSER="setpriv --reuid=65534 --regid=65534 --clear-groups"
  chmod 0777 "$tmp"
fi
# locked files must be unlocked before the exit trap removes $tmp
[ "$ro_how" = chattr ] && trap 'chattr -i "$tmp/ro.db" "$tmp/rodir" 2>/dev/null; rm -rf "$tmp"' EXIT
# read_only PATH / writable PATH
read_only() {
  if [ "$ro_how" = chattr ]; then chattr +i "$1"; else chmod a-w "$1"; fi || fail "cannot make $1 read-only"
}
writable() {
  if [ "$ro_how" = chattr ]; then chattr -i "$1"; else chmod u+w "$1"; fi
}
if [ -n "$ro_how" ]; then
  cp "$J" "$tmp/ro.db"
  chmod 0666 "$tmp/ro.db"
  [ -n "$ASUSER" ] && cp "$PROG" "$tmp/prog.weft" && chmod 0644 "$tmp/prog.weft"
  P="$PROG"
  [ -n "$ASUSER" ] && P="$tmp/prog.weft"
  read_only "$tmp/ro.db"
  for c in "run $P --provider mock" "resume 1"; do
    run $ASUSER "$WEFT" $c --journal "$tmp/ro.db"
    refused "$c on a read-only journal" 2 "cannot write the journal $tmp/ro.db" "(use --journal PATH or --no-journal)"
  done
  # reading needs no write access to the file
  run $ASUSER "$WEFT" runs --journal "$tmp/ro.db"
  expect_rc 0 "runs on a read-only journal"
  writable "$tmp/ro.db"
  [ "$(sql "$tmp/ro.db" 'SELECT count(*) FROM runs')" = 3 ] || fail "the read-only journal changed"

  # a writable journal in a read-only directory: SQLite's -wal and -shm
  # files cannot be made next to it
  mkdir "$tmp/rodir"
  cp "$J" "$tmp/rodir/j.db"
  chmod 0666 "$tmp/rodir/j.db"
  chmod 0777 "$tmp/rodir"
  read_only "$tmp/rodir"
  for c in "run $P --provider mock" "resume 1"; do
    run $ASUSER "$WEFT" $c --journal "$tmp/rodir/j.db"
    refused "$c in a read-only directory" 2 "cannot write the journal $tmp/rodir/j.db" "rodir"
  done
  run $ASUSER "$WEFT" run "$P" --provider mock --journal "$tmp/rodir/new.db"
  refused "a new journal in a read-only directory" 2 "cannot write the journal $tmp/rodir/new.db" "rodir"
  writable "$tmp/rodir"
  [ "$(ls "$tmp/rodir")" = j.db ] || fail "files appeared in the read-only directory: $(ls "$tmp/rodir")"
  [ "$(sql "$tmp/rodir/j.db" 'SELECT count(*) FROM runs')" = 3 ] || fail "the journal in rodir changed"
else
  echo "journal_errors.sh: root without chattr or setpriv: read-only journal checks left out" >&2
fi

# ---- a journal locked by another process --------------------------------------
# python3 holds a write transaction for 7 s; weft waits 5 s, then gives up.
L="$tmp/lock.db"
run "$WEFT" run "$PROG" --provider mock --journal "$L" --quiet
expect_rc 0 "the run before the lock"
python3 -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE"); print("locked", flush=True); time.sleep(7); c.execute("COMMIT")' "$L" >"$tmp/locker" &
locker=$!
n=0
until [ -s "$tmp/locker" ]; do
  n=$((n + 1))
  [ "$n" -lt 200 ] || { kill "$locker"; fail "the locking process did not start"; }
  sleep 0.05
done
t0=$(date +%s%N)
run "$WEFT" run "$PROG" --provider mock --journal "$L"
ms=$((($(date +%s%N) - t0) / 1000000))
refused "run on a locked journal" 2 "the journal $L is locked by another process (busy for 5 s)"
[ "$ms" -ge 4500 ] && [ "$ms" -lt 6900 ] || fail "the busy journal was given up after $ms ms, not ~5 s"
# readers are not blocked by the writer
run "$WEFT" runs --journal "$L"
expect_rc 0 "runs while the journal is locked"
wait "$locker" || fail "the locking process failed"
run "$WEFT" run "$PROG" --provider mock --journal "$L" --quiet
expect_rc 0 "a run after the lock was released"

# ---- the disk fills up during a run -------------------------------------------
# A file size limit (SIGXFSZ ignored: writes past it fail with EFBIG) that
# the journal outgrows a little way into a 400-ask fan-out.
D="$tmp/full.db"
run "$WEFT" run "$PROG" --provider mock --journal "$D" --quiet
expect_rc 0 "the run before the disk fills"
cat >"$tmp/big.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() -> int {
  let t = fanout i in range(400) limit 4 {
    ask r "item {i}, with a prompt long enough to fill the journal quickly: padding padding padding"
  }
  len(barrier t)
}
EOF_W
(
  trap '' XFSZ
  ulimit -f 256
  exec "$WEFT" run "$tmp/big.weft" --provider mock --journal "$D"
) >"$tmp/.out" 2>"$tmp/.err"
rc=$?
out=$(cat "$tmp/.out")
err=$(cat "$tmp/.err")
expect_no_crash "the run on a full disk"
expect_rc 1 "the run on a full disk"
expect_err "run 2 (journal $D)"
expect_err "error: cannot write the journal $D:"
expect_no_out "the run on a full disk"
[ "$(sql "$D" 'PRAGMA quick_check')" = ok ] || fail "the journal is damaged after the full disk"
run "$WEFT" runs --journal "$D" --json
expect_rc 0 "runs after the full disk"
state=$(printf '%s' "$out" | python3 -c 'import json, sys
r = json.load(sys.stdin)[1]; print(r["status"], r["state"], r["calls"])')
set -- $state
[ "$1" = running ] && [ "$2" = interrupted ] || fail "the failed run is not running/interrupted: $state"
[ "$3" -gt 0 ] && [ "$3" -lt 400 ] || fail "the full disk kept $3 calls, expected some but not all"
kept=$3
# the asks committed before the failure, as (address, reply, end time)
asks() {
  "$WEFT" show 2 --journal "$D" --json | python3 -c 'import json, sys
def walk(n):
    if n["kind"] == "ask": print(n["addr"], n["ended_at"], n["response"], sep="\t")
    for c in n.get("children", []): walk(c)
walk(json.load(sys.stdin)["tree"])' | sort
}
asks >"$tmp/before" || fail "show 2 after the full disk"
[ "$(wc -l <"$tmp/before")" = "$kept" ] || fail "show 2 lists $(wc -l <"$tmp/before") asks, runs said $kept"
run "$WEFT" resume 2 --journal "$D"
expect_rc 0 "resume after the full disk"
[ "$out" = 400 ] || fail "the resumed run's result: $out"
expect_err "($kept recorded effects;"
expect_err "400 calls (0 failed, $kept replayed)"
asks >"$tmp/after"
[ "$(wc -l <"$tmp/after")" = 400 ] || fail "the resumed run has $(wc -l <"$tmp/after") asks"
missing=$(comm -23 "$tmp/before" "$tmp/after")
[ -z "$missing" ] || fail "asks committed before the full disk changed on resume: $missing"
run "$WEFT" runs --journal "$D" --json
expect_out '"status":"ok","state":"ok"'
[ "$(sql "$D" 'PRAGMA quick_check')" = ok ] || fail "the journal is damaged after the resume"

# ---- the checks below run even when one fails ----------------------------------
ok=0
# Every command finds the journal through $WEFT_JOURNAL, as `weft run` does.
(
  cd "$tmp" || exit 1
  export WEFT_JOURNAL="$J"
  run "$WEFT" runs
  expect_rc 0 "runs with WEFT_JOURNAL"
  [ "$(printf '%s\n' "$out" | wc -l)" = 4 ] || fail "runs with WEFT_JOURNAL: not 3 runs: $out"
  for c in "show 1" "trace 1" "replay 1 --quiet"; do
    run "$WEFT" $c
    expect_rc 0 "$c with WEFT_JOURNAL"
  done
) || ok=1
# A journal in a read-only directory is read, or refused with the reason:
# SQLite needs to create its -shm file next to it.
if [ -n "$ro_how" ]; then
  (
    read_only "$tmp/rodir"
    for c in runs "replay 1 --quiet"; do
      run $ASUSER "$WEFT" $c --journal "$tmp/rodir/j.db"
      [ "$rc" = 0 ] && continue
      refused "$c of a journal in a read-only directory" 2 \
        "cannot read the journal $tmp/rodir/j.db: SQLite must create $tmp/rodir/j.db-shm to read it"
    done
  ) || ok=1
  writable "$tmp/rodir"
fi
# A run whose recorded flags were damaged is not resumed, and says why.
(
  printf 'role w { model: "mock/m" }\nfn main() -> string { ask w "hi" }\n' >"$tmp/flags.weft"
  "$WEFT" run "$tmp/flags.weft" --journal "$tmp/flags.db" --provider mock --quiet >/dev/null 2>&1 ||
    fail "could not make a run"
  python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("UPDATE runs SET status=\"running\", options=\"[1,\""); c.commit()' "$tmp/flags.db" ||
    fail "could not damage the run"
  run "$WEFT" resume 1 --journal "$tmp/flags.db"
  expect_rc 2 "resume with damaged flags"
  expect_err "run 1: its recorded flags are unreadable"
) || ok=1
exit "$ok"
