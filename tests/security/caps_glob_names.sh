# A file name that is not UTF-8 cannot be a Weft string: std/fs.glob skips
# it, wherever it stands (matched by `**`, by `*`, or a directory on the
# way), and lists the rest, as fs.list does; it never fails the whole glob.
. "$TESTDIR/../lib/common.sh"
mkdir -p "$tmp/d/sub" "$tmp/d/$(printf 'bad\377dir')"
echo a > "$tmp/d/a.txt"
echo b > "$tmp/d/sub/b.txt"
echo x > "$tmp/d/$(printf 'bad\377name.txt')"
echo y > "$tmp/d/sub/$(printf '\303(.txt')"
echo z > "$tmp/d/$(printf 'bad\377dir')/c.txt"
glob() {
  cat > "$tmp/g.weft" <<W
import "std/fs" as fs
fn main() {
  for p in fs.glob("$1") { print(p) }
  print("done")
}
W
  run "$WEFT" run --no-journal --allow-read="$tmp/d" "$tmp/g.weft"
  expect_no_crash "$1"
  expect_rc 0 "glob $1"
  expect_out "done"
  printf '%s' "$out" | grep -q "$(printf '\377')" && fail "a name that is not UTF-8 came out: $out"
  return 0
}
glob "$tmp/d/**"
expect_out "$tmp/d/a.txt"
expect_out "$tmp/d/sub/b.txt"
contains "$out" "c.txt" && fail "a path through a directory that is not UTF-8 came out: $out"
glob "$tmp/d/**/*.txt"
expect_out "$tmp/d/a.txt"
expect_out "$tmp/d/sub/b.txt"
glob "$tmp/d/*"
expect_out "$tmp/d/a.txt"
glob "$tmp/d/*/c.txt"
[ "$out" = "done" ] || fail "a path through a directory that is not UTF-8: $out"
exit 0
