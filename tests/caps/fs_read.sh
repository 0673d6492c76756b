# std/fs read behind --allow-read: a granted file is read; without the
# grant the run fails naming the flag that would grant it; a resumed run
# answers a finished read from the journal (the file changed since, the
# run still sees what it read) and reads again what failed; the resume
# needs the grants given again (the journal's are never used).
. "$TESTDIR/../lib/common.sh"
J="$tmp/j.db"
mkdir -p "$tmp/data"
printf 'first text\n' >"$tmp/data/a.txt"
cat >"$tmp/r.weft" <<'EOF_W'
import "std/fs" as fs
fn main() -> string {
  fs.read("data/a.txt")
}
EOF_W
cd "$tmp" || exit 1

run "$WEFT" run --journal "$J" --quiet r.weft --allow-read=data
expect_rc 0 "a granted read"
[ "$out" = '"first text\n"' ] || fail "granted read: $out"

run "$WEFT" run --journal "$J" --quiet --allow-read="$tmp/data/a.txt" r.weft
expect_rc 0 "a read granted by the file's own path"

run "$WEFT" run --journal "$J" --quiet r.weft
expect_rc 1 "an ungranted read"
expect_err "reading $tmp/data/a.txt needs --allow-read=$tmp/data/a.txt (or a directory above it)"

# a grant of a sibling directory does not cover it
mkdir -p "$tmp/other"
run "$WEFT" run --journal "$J" --quiet --allow-read=other r.weft
expect_rc 1 "a read under another grant"
expect_err "needs --allow-read="

# a grant of a path that does not exist is refused at start
run "$WEFT" run --journal "$J" --quiet --allow-read=nowhere r.weft
expect_rc 2 "a grant of a missing path"
expect_err "--allow-read=nowhere"

# ---- resume: a finished read is answered from the journal -----------------------
cat >"$tmp/two.weft" <<'EOF_W'
import "std/fs" as fs
fn main() -> string {
  let a = fs.read("data/a.txt")
  let b = fs.read("data/b.txt")
  "{a}|{b}"
}
EOF_W
run "$WEFT" run --journal "$J" two.weft --allow-read=data
expect_rc 1 "the first read of a missing file"
expect_err "reading $tmp/data/b.txt: No such file or directory"
id=$(printf '%s' "$err" | sed -n 's/^weft: run \([0-9]*\) .*/\1/p' | head -1)
[ -n "$id" ] || fail "no run id in: $err"
printf 'changed text\n' >"$tmp/data/a.txt"
printf 'second\n' >"$tmp/data/b.txt"
# a resume never takes a grant from the journal: they are given again
run "$WEFT" resume "$id" --journal "$J" --quiet
expect_rc 2 "a resume without the run's grants"
expect_err "give them again: a resume never takes a grant from the journal"
run "$WEFT" resume "$id" --journal "$J" --quiet --trace "$tmp/t.jsonl" --allow-read=data
expect_rc 0 "the resume"
[ "$out" = '"first text\n|second\n"' ] || fail "the resume read the file again: $out"
grep -q '"ev":"cap_start".*"main/fs.read#1".*"from":"journal"' "$tmp/t.jsonl" ||
  grep -q '"main/fs.read#1".*"ev":"cap_start".*"from":"journal"' "$tmp/t.jsonl" ||
  fail "no cap_start from the journal in the trace: $(cat "$tmp/t.jsonl")"
exit 0
