# E4 and names a broad grant does not cover: even under --allow-read=/,
# /proc, /sys and devices are refused; a FIFO is refused without hanging;
# /proc, /sys and /dev cannot be granted at all. Inside a directory
# granted, `.env*`, `.ssh` and the run's journal are refused unless a
# grant names them exactly.
. "$TESTDIR/../lib/common.sh"
cat >"$tmp/r.weft" <<'EOF_W'
import "std/fs" as fs
fn main(p: string) -> string { fs.read(p) }
EOF_W
for p in /proc/self/environ /proc/self/mem /proc/self/root/etc/passwd /sys/kernel/mm/transparent_hugepage/enabled /dev/zero /dev/null /dev/urandom; do
  [ -e "$p" ] || continue
  run timeout 20 "$WEFT" run --quiet "$tmp/r.weft" --allow-read=/ --arg "p=$p"
  expect_rc 1 "reading $p under --allow-read=/"
  expect_no_out "reading $p"
done
for g in /proc /proc/self /sys /dev /dev/zero; do
  [ -e "$g" ] || continue
  run "$WEFT" run --quiet "$tmp/r.weft" --allow-read="$g" --arg "p=$g"
  expect_rc 2 "granting $g"
  expect_err "--allow-read=$g"
done
mkfifo "$tmp/fifo"
run timeout 20 "$WEFT" run --quiet "$tmp/r.weft" --allow-read="$tmp" --arg "p=$tmp/fifo"
expect_rc 1 "reading a FIFO"
expect_err "not a regular file"
cat >"$tmp/w.weft" <<'EOF_W'
import "std/fs" as fs
fn main(p: string) -> string {
  fs.write(p, "x")
  "written"
}
EOF_W
( exec 3<>"$tmp/fifo"; sleep 30 ) & reader=$!
run timeout 20 "$WEFT" run --quiet "$tmp/w.weft" --allow-write="$tmp" --arg "p=$tmp/fifo"
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
expect_rc 1 "writing a FIFO"
expect_err "not a regular file"

# ---- .env, .ssh and the journal ---------------------------------------------------
W="$tmp/w"
mkdir -p "$W/home/.ssh" "$W/proj/sub"
printf 'KEY=SECRET\n' >"$W/proj/.env"
printf 'KEY=SECRET\n' >"$W/proj/.env.local"
printf 'KEY=SECRET\n' >"$W/proj/sub/.envrc"
printf 'SECRET\n' >"$W/home/.ssh/id_ed25519"
printf 'fine\n' >"$W/proj/env.txt"
J="$W/proj/j.db"
for p in "$W/proj/.env" "$W/proj/.env.local" "$W/proj/sub/.envrc" "$W/home/.ssh/id_ed25519" "$J" "$J-wal"; do
  run "$WEFT" run --quiet --journal "$J" "$tmp/r.weft" --allow-read="$W" --arg "p=$p"
  expect_rc 1 "reading $p under a broad grant"
  expect_err "name it exactly with --allow-read=$p"
  contains "$out" SECRET && fail "reading $p leaked it"
done
run "$WEFT" run --quiet --journal "$J" "$tmp/r.weft" --allow-read="$W" --arg "p=$W/proj/env.txt"
expect_rc 0 "a name that only looks like one"
for p in "$W/proj/.env" "$W/home/.ssh/id_ed25519"; do
  run "$WEFT" run --quiet --journal "$J" "$tmp/r.weft" --allow-read="$W" --allow-read="$p" --arg "p=$p"
  expect_rc 0 "reading $p named exactly"
done
run "$WEFT" run --quiet --journal "$J" "$tmp/r.weft" --allow-read="$W/home/.ssh" --arg "p=$W/home/.ssh/id_ed25519"
expect_rc 0 "reading beneath .ssh granted by name"
# a write under a broad grant may not replace them either
run "$WEFT" run --quiet --journal "$J" "$tmp/w.weft" --allow-write="$W" --arg "p=$W/proj/.env"
expect_rc 1 "writing .env under a broad grant"
[ "$(cat "$W/proj/.env")" = KEY=SECRET ] || fail "a write replaced .env"
run "$WEFT" run --quiet --journal "$J" "$tmp/w.weft" --allow-write="$W/proj" --arg "p=$J"
expect_rc 1 "writing the journal under a broad grant"
exit 0
