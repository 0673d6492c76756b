# E3: symbolic links inside a grant are never followed, whatever they
# point to: a link to a file outside, a link to a directory outside (read,
# list, glob, write through it), a link to a file inside; and a directory
# swapped for a link while a program reads beneath it again and again
# never yields what lies outside (the open is one openat2 beneath the
# granted root, not a check and then an open).
. "$TESTDIR/../lib/common.sh"
W="$tmp/w"
mkdir -p "$W/data" "$W/outside"
printf 'inside\n' >"$W/data/a.txt"
printf 'SECRET\n' >"$W/outside/secret.txt"
ln -s "$W/outside/secret.txt" "$W/data/link.txt"
ln -s ../outside "$W/data/dirlink"
ln -s a.txt "$W/data/samedir.txt"
cd "$W" || exit 1
cat >"$tmp/ops.weft" <<'EOF_W'
import "std/fs" as fs
fn main(op: string, p: string) -> string {
  if op == "read" {
    fs.read(p)
  } else if op == "list" {
    join(fs.list(p), ",")
  } else if op == "glob" {
    join(fs.glob(p), ",")
  } else if op == "exists" {
    to_json(fs.exists(p))
  } else {
    fs.write(p, "WRITTEN")
    "written"
  }
}
EOF_W
for p in data/link.txt data/dirlink/secret.txt data/samedir.txt "$W/data/dirlink/secret.txt"; do
  run "$WEFT" run --quiet "$tmp/ops.weft" --allow-read=data --arg op=read --arg "p=$p"
  expect_rc 1 "reading $p"
  expect_err "symbolic link"
  contains "$out$err" SECRET && fail "reading $p leaked the secret"
done
run "$WEFT" run --quiet "$tmp/ops.weft" --allow-read=data --arg op=list --arg p=data/dirlink
expect_rc 1 "listing a linked directory"
expect_err "symbolic link"
run "$WEFT" run --quiet "$tmp/ops.weft" --allow-read=data --arg op=exists --arg p=data/dirlink/secret.txt
expect_rc 1 "exists through a linked directory"
run "$WEFT" run --quiet "$tmp/ops.weft" --allow-read=data --arg op=glob --arg 'p=data/**'
expect_rc 0 "glob over links"
[ "$out" = '"data/a.txt"' ] || fail "glob followed or listed a link: $out"
# writing through a link changes nothing outside
mkdir -p "$W/out"
ln -s "$W/outside/secret.txt" "$W/out/wlink.txt"
ln -s ../outside "$W/out/dlink"
for p in out/wlink.txt out/dlink/secret.txt out/dlink/new.txt; do
  run "$WEFT" run --quiet "$tmp/ops.weft" --allow-write=out --arg op=write --arg "p=$p"
  expect_rc 1 "writing $p"
  expect_err "symbolic link"
done
[ "$(cat "$W/outside/secret.txt")" = SECRET ] || fail "a write went through a link"
[ ! -e "$W/outside/new.txt" ] || fail "a write created a file through a linked directory"
# a grant that is itself reached through a link is resolved once, at start:
# what it names is what is granted
ln -s data "$W/datalink"
run "$WEFT" run --quiet "$tmp/ops.weft" --allow-read=datalink --arg op=read --arg p=data/a.txt
expect_rc 0 "a grant named through a link"

# ---- a directory swapped for a link while it is read ------------------------------
mkdir -p "$W/race/d"
printf 'inside\n' >"$W/race/d/f.txt"
mkdir -p "$W/race/evil"
printf 'SECRET\n' >"$W/race/evil/f.txt"
cat >"$tmp/race.weft" <<'EOF_W'
import "std/fs" as fs
fn main() -> list[string] {
  let t = fanout i in range(400) limit 4 {
    let r = try fs.read("race/d/f.txt")
    match r { Ok { value } => value, Failed { error } => "refused" }
  }
  barrier t
}
EOF_W
(
  cd "$W/race" || exit 1
  i=0
  while [ $i -lt 3000 ] && [ ! -e "$tmp/stop" ]; do
    mv d real && ln -s evil d && rm d && mv real d
    i=$((i + 1))
  done
) &
swapper=$!
run "$WEFT" run --quiet "$tmp/race.weft" --allow-read=race
touch "$tmp/stop"
wait "$swapper"
expect_rc 0 "reads racing a swap"
contains "$out" SECRET && fail "a read followed a directory swapped for a link"
contains "$out" inside || fail "no read succeeded at all: $out"
exit 0
