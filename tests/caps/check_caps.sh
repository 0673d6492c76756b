# weft check --caps lists what a program can touch: its capability modules,
# and function by function each call with its constant path (or
# "computed") and the flag that grants it, in text and in --json; weft run
# refuses to start a program whose constant needs are not all granted,
# listing every one, and leaves no run in the journal.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1
mkdir -p data out
printf 'x\n' >data/a.txt
cat >p.weft <<'EOF_W'
import "std/fs" as fs
fn helper(p: string) -> string {
  fs.read(p)
}
fn main() -> string {
  fs.write("out/r.txt", "hi")
  let a = fs.read("data/a.txt")
  let b = join(fs.glob("data/**/*.txt"), ",")
  "{a}{b}{helper("data/a.txt")}"
}
EOF_W
run "$WEFT" check --caps p.weft
expect_rc 0 "check --caps"
expect_out "p.weft: imports std/fs"
expect_out "  fn helper
    p.weft:3: fs.read (computed: checked when called)
  fn main
    p.weft:6: fs.write \"out/r.txt\"  needs --allow-write=out/r.txt
    p.weft:7: fs.read \"data/a.txt\"  needs --allow-read=data/a.txt
    p.weft:8: fs.glob \"data/**/*.txt\"  needs --allow-read=data"
run "$WEFT" check --caps --json p.weft
expect_rc 0 "check --caps --json"
printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = d["caps"][0]
assert c["modules"] == ["std/fs"], c
fns = [f["name"] for f in c["functions"]]
assert fns == ["helper", "main"], fns
calls = c["functions"][1]["calls"]
assert [(x["op"], x["value"], x["flag"]) for x in calls] == [
  ("fs.write", "out/r.txt", "--allow-write=out/r.txt"),
  ("fs.read", "data/a.txt", "--allow-read=data/a.txt"),
  ("fs.glob", "data/**/*.txt", "--allow-read=data")], calls
assert c["functions"][0]["calls"][0]["value"] is None
' || fail "check --caps --json: $out"
printf 'fn main() -> int { 1 }\n' >plain.weft
run "$WEFT" check --caps plain.weft
expect_out "plain.weft: no capability modules"

# the static refusal: every missing grant listed, nothing run, nothing journaled
J="$tmp/j.db"
run "$WEFT" run --journal "$J" p.weft --allow-read=data/a.txt
expect_rc 2 "a run without its grants"
expect_err "p.weft needs 2 grants it was not given"
expect_err "p.weft:6:3: fs.write in main: \"out/r.txt\" needs --allow-write=out/r.txt"
expect_err "p.weft:8:16: fs.glob in main: \"data/**/*.txt\" needs --allow-read=data"
contains "$err" "data/a.txt\" needs" && fail "a granted need was listed: $err"
[ ! -e out/r.txt ] || fail "a refused run wrote"
[ ! -e "$J" ] || [ "$("$WEFT" runs --journal "$J" --json)" = "[]" ] || fail "a refused run left a run in the journal"
run "$WEFT" run --journal "$J" --quiet p.weft --allow-read=data --allow-write=out
expect_rc 0 "a run with its grants"
# untrusted programs get the same check
run "$WEFT" run --untrusted --journal "$J" p.weft
expect_rc 2 "an untrusted run without its grants"
expect_err "needs 3 grants"
exit 0

# a role with tools: what its model can make the program do is what those
# tools do, so --caps names the role, its tools and how many capability
# calls they make (text), and the roles with their tools (--json)
cat >t.weft <<'EOF_W'
import "std/fs" as fs
/// The text of a file.
fn read_file(path: string) -> string {
  fs.read(path)
}
/// Today's greeting.
fn greet(name: string) -> string {
  "hello {name}"
}
role fixer {
  model: "mock/m",
  tools: [read_file, greet],
  max_steps: 3,
}
role plain {
  model: "mock/m",
}
fn main() -> string {
  ask fixer "Fix it"
}
EOF_W
run "$WEFT" check --caps t.weft
expect_rc 0 "check --caps with tools"
expect_out "  role fixer: its model can call read_file, greet (1 capability call among them, listed under their fn above)"
contains "$out" "role plain" && fail "a role without tools is listed: $out"
run "$WEFT" check --caps --json t.weft
expect_rc 0 "check --caps --json with tools"
printf '%s' "$out" | python3 -c '
import json, sys
c = json.load(sys.stdin)["caps"][0]
assert c["roles"] == [{"name": "fixer", "tools": ["read_file", "greet"]}], c["roles"]
' || fail "roles in --caps --json: $out"
