# std/fs write, list, glob and exists: a write is journaled, so a resumed
# run does not write again what the journal says it wrote (the file
# changed since keeps its new text); list and glob are sorted; exists is
# false for a missing path; a read over 16 MiB or of bytes that are not
# UTF-8 text fails saying so.
. "$TESTDIR/../lib/common.sh"
J="$tmp/j.db"
cd "$tmp" || exit 1
mkdir -p out data/sub
printf 'a\n' >data/b.txt
printf 'b\n' >data/a.txt
printf 'c\n' >data/sub/c.txt
printf 'SECRET\n' >data/.env
cat >w.weft <<'EOF_W'
import "std/fs" as fs
fn main() -> string {
  fs.write("out/log.txt", "first\n")
  fs.read("out/missing.txt")
}
EOF_W
run "$WEFT" run --journal "$J" w.weft --allow-write=out --allow-read=out
expect_rc 1 "a run that fails after a write"
id=$(printf '%s' "$err" | sed -n 's/^weft: run \([0-9]*\) .*/\1/p' | head -1)
[ "$(cat out/log.txt)" = first ] || fail "the write did not happen"
printf 'edited\n' >out/log.txt
printf 'there\n' >out/missing.txt
run "$WEFT" resume "$id" --journal "$J" --quiet --allow-write=out --allow-read=out
expect_rc 0 "the resume"
[ "$out" = '"there\n"' ] || fail "resume: $out"
[ "$(cat out/log.txt)" = edited ] || fail "the resume wrote again what the journal recorded"

cat >l.weft <<'EOF_W'
import "std/fs" as fs
fn main() -> { l: list[string], g: list[string], r: list[string], e: list[bool] } {
  {
    l: fs.list("data"),
    g: fs.glob("data/**/*.txt"),
    r: fs.glob("data/*"),
    e: [fs.exists("data/a.txt"), fs.exists("data/sub"), fs.exists("data/nope.txt")],
  }
}
EOF_W
run "$WEFT" run --no-journal --quiet l.weft --allow-read=data
expect_rc 0 "list, glob, exists"
[ "$out" = '{"l":[".env","a.txt","b.txt","sub"],"g":["data/a.txt","data/b.txt","data/sub/c.txt"],"r":["data/a.txt","data/b.txt","data/sub"],"e":[true,true,false]}' ] ||
  fail "list, glob, exists: $out"
# a file over the read cap is a failure that says so
head -c 17000000 /dev/zero | tr '\0' a >data/big.txt
printf '\377\376binary\n' >data/bin.dat
cat >b.weft <<'EOF_W'
import "std/fs" as fs
fn main(p: string) -> int { len(fs.read(p)) }
EOF_W
run "$WEFT" run --no-journal --quiet b.weft --allow-read=data --arg p=data/big.txt
expect_rc 1 "reading a file over the cap"
expect_err "larger than the 16 MiB a read may return"
run "$WEFT" run --no-journal --quiet b.weft --allow-read=data --arg p=data/bin.dat
expect_rc 1 "reading a file that is not text"
expect_err "not UTF-8 text"
exit 0
