# The journal's companion files are opened without following symbolic
# links: a planted PATH-lock (or PATH-wal, PATH-shm) that links to another
# file is refused, and the file it points at stays as it was; a FIFO in its
# place is refused without blocking.
. "$TESTDIR/../lib/common.sh"
printf 'fn main() -> int { 7 }\n' >"$tmp/p.weft"
printf 'precious\n' >"$tmp/precious"
touch -d '2001-01-01 00:00:00' "$tmp/precious"
before=$(ls -l --time-style=+%s "$tmp/precious")

untouched() {
  [ "$(cat "$tmp/precious")" = precious ] || fail "$1 changed the linked file"
  [ "$(ls -l --time-style=+%s "$tmp/precious")" = "$before" ] || fail "$1 touched the linked file"
}

# A lock file that links to an existing file.
mkdir "$tmp/a"
ln -s "$tmp/precious" "$tmp/a/j.db-lock"
run timeout 20 "$WEFT" run "$tmp/p.weft" --journal "$tmp/a/j.db"
expect_rc 2 "a run with a symlinked lock file"
expect_err "cannot write the journal $tmp/a/j.db: $tmp/a/j.db-lock is a symbolic link"
expect_no_out "the refused run"
untouched "the refused run"
# ... and a reader refuses it too, rather than following it
run timeout 20 "$WEFT" run "$tmp/p.weft" --journal "$tmp/b.db" --quiet
expect_rc 0 "a run in a clean journal"
mv "$tmp/b.db" "$tmp/a/j.db" && rm -f "$tmp/b.db-lock" "$tmp/b.db-wal" "$tmp/b.db-shm"
run timeout 20 "$WEFT" runs --journal "$tmp/a/j.db"
expect_rc 2 "runs with a symlinked lock file"
expect_err "$tmp/a/j.db-lock is a symbolic link"
untouched "weft runs"

# A lock file that links to a file that does not exist: not created.
mkdir "$tmp/c"
ln -s "$tmp/created" "$tmp/c/j.db-lock"
run timeout 20 "$WEFT" run "$tmp/p.weft" --journal "$tmp/c/j.db"
expect_rc 2 "a run with a dangling symlinked lock file"
expect_err "is a symbolic link"
[ ! -e "$tmp/created" ] || fail "the run created the lock file's target"

# A FIFO as the lock file: refused at once.
mkdir "$tmp/d"
mkfifo "$tmp/d/j.db-lock" || fail "mkfifo"
run timeout 20 "$WEFT" run "$tmp/p.weft" --journal "$tmp/d/j.db"
[ "$rc" != 124 ] || fail "a FIFO lock file blocked the run"
expect_rc 2 "a run with a FIFO lock file"
expect_err "$tmp/d/j.db-lock is not a regular file"

# SQLite's own companions: a planted PATH-wal or PATH-shm link is refused.
for ext in wal shm; do
  mkdir "$tmp/$ext"
  run "$WEFT" run "$tmp/p.weft" --journal "$tmp/$ext/j.db" --quiet
  expect_rc 0 "the first run ($ext)"
  rm -f "$tmp/$ext/j.db-wal" "$tmp/$ext/j.db-shm"
  ln -s "$tmp/precious" "$tmp/$ext/j.db-$ext"
  run timeout 20 "$WEFT" run "$tmp/p.weft" --journal "$tmp/$ext/j.db" --quiet
  expect_rc 2 "a run with a symlinked j.db-$ext"
  untouched "a run with a symlinked j.db-$ext"
done
exit 0
