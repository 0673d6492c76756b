# E2: with --allow-read=W/data (and --allow-write=W/out), paths that leave
# the grant are refused by component, whatever their spelling: `..`,
# `//`, an absolute path outside, a sibling whose name starts the same
# (W/data-evil), a NUL byte; a write that escapes creates nothing.
. "$TESTDIR/../lib/common.sh"
W="$tmp/w"
mkdir -p "$W/data" "$W/data-evil" "$W/out"
printf 'inside\n' >"$W/data/a.txt"
printf 'SECRET\n' >"$W/secret.txt"
printf 'SECRET\n' >"$W/data-evil/x.txt"
cd "$W" || exit 1
cat >"$tmp/r.weft" <<'EOF_W'
import "std/fs" as fs
fn main(p: string) -> string { fs.read(p) }
EOF_W
cat >"$tmp/w.weft" <<'EOF_W'
import "std/fs" as fs
fn main(p: string) -> string {
  fs.write(p, "EVIL")
  "written"
}
EOF_W
denied() { # PATH: refused, naming --allow-read, and nothing of the secret printed
  run "$WEFT" run --quiet "$tmp/r.weft" --allow-read="$W/data" --arg "p=$1"
  expect_rc 1 "reading $1"
  expect_err "needs --allow-read="
  contains "$out$err" SECRET && fail "reading $1 leaked the secret"
  return 0
}
denied "$W/data/../secret.txt"
denied "data/../secret.txt"
denied "data/./../secret.txt"
denied "data/sub/../../secret.txt"
denied "$W/data/../../w/secret.txt"
denied "//$W/secret.txt"
denied "$W/secret.txt"
denied "$W/data-evil/x.txt"
denied "data-evil/x.txt"
denied "/etc/passwd"
# the same file by another spelling inside the grant is fine
for p in "$W/data//a.txt" "data/./a.txt" "$W/data/x/../a.txt" "./data/a.txt"; do
  run "$WEFT" run --quiet "$tmp/r.weft" --allow-read="$W/data" --arg "p=$p"
  expect_rc 0 "reading $p"
  [ "$out" = '"inside\n"' ] || fail "reading $p: $out"
done
# a NUL byte never reaches the file system, wherever it is
for p in '"data/a.txt\u0000../../secret.txt"' '"\u0000"' '"data/\u0000/a.txt"'; do
  run "$WEFT" run --quiet "$tmp/r.weft" --allow-read="$W" --arg "p=$p"
  expect_rc 1 "reading $p"
  expect_err "NUL byte"
done
# writes
for p in "out/../evil.txt" "$W/evil.txt" "$W/out-evil.txt" "out/../data/a.txt"; do
  run "$WEFT" run --quiet "$tmp/w.weft" --allow-write="$W/out" --arg "p=$p"
  expect_rc 1 "writing $p"
  expect_err "needs --allow-write="
done
[ ! -e "$W/evil.txt" ] && [ ! -e "$W/out-evil.txt" ] || fail "an escaping write created a file"
[ "$(cat "$W/data/a.txt")" = inside ] || fail "an escaping write changed a file"
exit 0
