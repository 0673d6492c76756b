# The operator's flags of untrusted content (docs/cli.md, "Untrusted
# content (labels)"): --untrusted-input labels main's input deep (a record's
# field too) and is recorded, so a replay labels it again; an unknown or
# malformed NAME is a usage error; the grants file takes "read_untrusted"
# and "PROGRAM:trusted"; weft check takes --untrusted-input.
. "$TESTDIR/../lib/common.sh"

mkdir -p "$tmp/out" "$tmp/in"
printf '%s' "$tmp/out/pwned" >"$tmp/in/path.txt"
cat >"$tmp/i.weft" <<'EOF_W'
import "std/fs" as fs
fn w(path: string) -> bool {
  fs.write(path, "x")
  true
}
fn main(cfg: { path: string }, n: int) {
  let r = try [w][0](cfg.path)
  match r {
    Ok { value: _ } => print("written {n}"),
    Failed { error } => print("{error.kind}: {error.message}"),
  }
}
EOF_W
in="cfg={\"path\": \"$tmp/out/pwned\"}"
run "$WEFT" run "$tmp/i.weft" --journal "$tmp/j.db" --allow-write="$tmp/out" --arg "$in" --arg n=3 \
  --untrusted-input=cfg --untrusted-input=n
expect_rc 0 "input"
expect_out "untrusted: fs.write: path is untrusted text (from main's input cfg)"
[ ! -e "$tmp/out/pwned" ] || fail "the refused write happened"
run "$WEFT" replay 1 --journal "$tmp/j.db"
expect_rc 0 "replay"
expect_out "untrusted: fs.write: path is untrusted text (from main's input cfg)"
# not named: clean
run "$WEFT" run "$tmp/i.weft" --no-journal --allow-write="$tmp/out" --arg "$in" --arg n=3 --untrusted-input=n
expect_out "written 3"
rm -f "$tmp/out/pwned"

run "$WEFT" run "$tmp/i.weft" --no-journal --arg "$in" --arg n=3 --untrusted-input=nope
expect_rc 2 "unknown input"
expect_err "--untrusted-input=nope: main has no parameter nope (main takes: cfg, n)"
run "$WEFT" run "$tmp/i.weft" --no-journal --arg "$in" --arg n=3 --untrusted-input=1x
expect_rc 2 "malformed input"
expect_err "--untrusted-input=1x: main has no parameter 1x"
run "$WEFT" check --untrusted-input=cfg "$tmp/i.weft"
expect_rc 0 "check"

# the grants file
cat >"$tmp/g.weft" <<'EOF_W'
import "std/fs" as fs
import "std/proc" as proc
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
  show("file", try [w][0](fs.read("{dir}/in/path.txt")))
  show("list", try [w][0](fs.list("{dir}/in")[0]))
  show("glob", try [w][0](fs.glob("{dir}/in/*.txt")[0]))
  show("printf", try [w][0](proc.run("printf", ["%s", "{dir}/out/ok"]).stdout))
}
EOF_W
printf '{"read_untrusted": ["%s"], "write": ["%s"], "run": ["printf:trusted"]}' "$tmp/in" "$tmp/out" >"$tmp/grants.json"
run "$WEFT" run "$tmp/g.weft" --no-journal --grants "$tmp/grants.json" --arg "dir=$tmp"
expect_rc 0 "grants file"
expect_out "file: untrusted: fs.write: path is untrusted text (from the result of fs.read at main/fs.read#1)"
expect_out "printf: written"
expect_out "list: untrusted: fs.write: path is untrusted text (from the result of fs.list at main/fs.list#"
expect_out "glob: untrusted: fs.write: path is untrusted text (from the result of fs.glob at main/fs.glob#"
[ ! -e "$tmp/out/pwned" ] || fail "the file's path was written"
[ -e "$tmp/out/ok" ] || fail "the trusted program's output was refused"
printf '{"read_untrusted": [3]}' >"$tmp/bad.json"
run "$WEFT" run "$tmp/g.weft" --no-journal --grants "$tmp/bad.json" --arg "dir=$tmp"
expect_rc 2 "bad grants file"
expect_err '"read_untrusted" holds something that is not a string'
run "$WEFT" run "$tmp/g.weft" --no-journal --allow-run=:trusted --arg "dir=$tmp"
expect_rc 2 "no program"
expect_err "--allow-run needs a program name or path"
exit 0
