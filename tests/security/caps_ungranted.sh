# E1: with no grant at all, every std/fs operation is refused, and the
# refusal names the flag that would allow it; nothing is created.
. "$TESTDIR/../lib/common.sh"
mkdir -p "$tmp/w"
printf 'text\n' >"$tmp/w/a.txt"
cd "$tmp/w" || exit 1
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
for op in read list glob exists write; do
  case $op in
    read | exists) p=a.txt want="reading $tmp/w/a.txt needs --allow-read=$tmp/w/a.txt" ;;
    list) p=. want="reading $tmp/w needs --allow-read=$tmp/w" ;;
    glob) p='*.txt' want="reading $tmp/w needs --allow-read=$tmp/w" ;;
    write) p=new.txt want="writing $tmp/w/new.txt needs --allow-write=$tmp/w/new.txt" ;;
  esac
  run "$WEFT" run --quiet "$tmp/ops.weft" --arg op=$op --arg "p=$p"
  expect_rc 1 "$op without a grant"
  expect_err "$want"
  expect_no_out "$op without a grant"
done
[ ! -e "$tmp/w/new.txt" ] || fail "a refused write created the file"

# a read grant is not a write grant, and a write grant not a read grant
run "$WEFT" run --quiet "$tmp/ops.weft" --arg op=write --arg p=a.txt --allow-read=.
expect_rc 1 "a write under a read grant"
expect_err "needs --allow-write=$tmp/w/a.txt"
[ "$(cat "$tmp/w/a.txt")" = text ] || fail "a refused write changed the file"
run "$WEFT" run --quiet "$tmp/ops.weft" --arg op=read --arg p=a.txt --allow-write=.
expect_rc 1 "a read under a write grant"
expect_err "needs --allow-read="

# an untrusted run gets nothing either unless given (and then what is given)
run "$WEFT" run --quiet --untrusted "$tmp/ops.weft" --arg op=read --arg p=a.txt
expect_rc 1 "an untrusted read without a grant"
expect_err "needs --allow-read="
run "$WEFT" run --quiet --untrusted "$tmp/ops.weft" --arg op=read --arg p=a.txt --allow-read=a.txt
expect_rc 0 "an untrusted read with a grant"

# a grants file is read only when named: one next to the program grants nothing
printf '{"read": ["%s"]}\n' "$tmp/w" >"$tmp/grants.json"
cp "$tmp/grants.json" "$tmp/w/.weft-grants.json"
run "$WEFT" run --quiet "$tmp/ops.weft" --arg op=read --arg p=a.txt
expect_rc 1 "a grants file not named"
run "$WEFT" run --quiet "$tmp/ops.weft" --arg op=read --arg p=a.txt --grants="$tmp/grants.json"
expect_rc 0 "a grants file named"
printf '{"read": "%s"}\n' "$tmp/w" >"$tmp/bad.json"
run "$WEFT" run --quiet "$tmp/ops.weft" --arg op=read --arg p=a.txt --grants="$tmp/bad.json"
expect_rc 2 "a malformed grants file"
expect_err "--grants"
exit 0
