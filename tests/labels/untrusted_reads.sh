# What std/fs reads under --allow-read-untrusted is untrusted however it is
# reached (docs/security.md, "Untrusted content: sources, sinks and the
# journal"): a glob that starts above the untrusted directory, under a
# broad trusted read grant, still labels the names it finds inside it; a
# file granted untrusted by its own name is untrusted even when that name
# holds a wildcard character. A glob that never enters it is clean.
. "$TESTDIR/../lib/common.sh"

mkdir -p "$tmp/root/inbox" "$tmp/root/docs" "$tmp/out"
: >"$tmp/root/inbox/evil.txt"
: >"$tmp/root/docs/fine.md"
printf '%s' "$tmp/out/pwned" >"$tmp/root/a[1].txt"
cat >"$tmp/g.weft" <<'EOF_W'
import "std/fs" as fs
fn w(path: string) -> bool {
  fs.write(path, "x")
  true
}
fn show(what: string, r: result[bool]) {
  match r {
    Ok { value: _ } => print("{what}: written"),
    Failed { error } => print("{what}: {error.kind}: {error.message}"),
  }
}
fn main(dir: string) {
  let found = fs.glob("{dir}/root/**/*.txt")
  show("glob", try [w][0]("{dir}/out/{len(found)}"))
  show("named", try [w][0](fs.read("{dir}/root/a[1].txt")))
  let docs = fs.glob("{dir}/root/docs/*.md")
  show("docs", try [w][0]("{dir}/out/d{len(docs)}"))
}
EOF_W
run "$WEFT" run "$tmp/g.weft" --no-journal --allow-read="$tmp/root" --allow-read-untrusted="$tmp/root/inbox" \
  --allow-read-untrusted="$tmp/root/a[1].txt" --allow-write="$tmp/out" --arg "dir=$tmp"
expect_no_crash "reads"
expect_rc 0 "reads"
expect_out "glob: untrusted: fs.write: path is untrusted text (from the result of fs.glob at main/fs.glob#"
expect_out "named: untrusted: fs.write: path is untrusted text (from the result of fs.read at main/fs.read#"
expect_out "docs: written"
[ ! -e "$tmp/out/pwned" ] || fail "the untrusted file's text was used as a path"
[ -z "$(ls "$tmp/out" | grep -v '^d')" ] || fail "a glob into the untrusted directory gave a clean path: $(ls "$tmp/out")"
exit 0
