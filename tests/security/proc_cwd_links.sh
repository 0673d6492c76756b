# A child's working directory is opened beneath its file grant the way
# std/fs opens a path (no symbolic link followed, no other file system),
# and the child changes into that descriptor: a link inside the granted
# directory that points out of it is refused, wherever it stands on the
# path, and a directory renamed or swapped after the check is not reached
# by its name.
. "$TESTDIR/../lib/common.sh"
mkdir -p "$tmp/granted/real/sub" "$tmp/outside/inner"
echo secret > "$tmp/outside/secret.txt"
ln -s "$tmp/outside" "$tmp/granted/out"
ln -s ../outside "$tmp/granted/rel"
ln -s real "$tmp/granted/inlink"
prog() {
  cat > "$tmp/p.weft" <<W
import "std/proc" as proc
fn main() { print(proc.run_with("pwd", ["-P"], { cwd: "$1" }).stdout) }
W
}
check_refused() {
  prog "$1"
  run "$WEFT" run --allow-run=pwd "$2=$tmp/granted" "$tmp/p.weft"
  expect_no_crash "$1"
  contains "$out" "$tmp/outside" && fail "the child ran outside the grant through $1: $out"
  expect_rc 1 "$1 under $2"
  expect_err "symbolic link"
}
# the link is the last component, under a read grant and a write grant
check_refused "$tmp/granted/out" --allow-read
check_refused "$tmp/granted/out" --allow-write
# a relative link, and a link in the middle of the path
check_refused "$tmp/granted/rel" --allow-read
check_refused "$tmp/granted/out/inner" --allow-read
# a link that stays inside is refused too: links are never followed
check_refused "$tmp/granted/inlink" --allow-read
# a relative cwd resolved against weft's own directory
(cd "$tmp/granted" && check_refused "out" --allow-read) || exit 1

# real directories still work, under either grant, and the grant itself
for d in "$tmp/granted/real/sub" "$tmp/granted"; do
  prog "$d"
  run "$WEFT" run --allow-run=pwd --allow-read="$tmp/granted" "$tmp/p.weft"
  expect_rc 0 "a real directory $d"
  [ "$out" = "$d" ] || fail "pwd in $d printed $out"
done
prog "$tmp/granted/real"
run "$WEFT" run --allow-run=pwd --allow-write="$tmp/granted" "$tmp/p.weft"
expect_rc 0 "a real directory under a write grant"
[ "$out" = "$tmp/granted/real" ] || fail "pwd printed $out"
# a file is no working directory
echo x > "$tmp/granted/file"
prog "$tmp/granted/file"
run "$WEFT" run --allow-run=pwd --allow-read="$tmp/granted" "$tmp/p.weft"
expect_rc 1 "a file as cwd"
expect_err "Not a directory"
exit 0
