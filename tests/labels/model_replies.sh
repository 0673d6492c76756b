# A model reply whose request held untrusted content is untrusted itself
# (docs/security.md, "Untrusted content: sources, sinks and the
# journal"): a mock model that echoes its prompt (`"echo": true` in the
# mock script) repeats a fetched page, and the reply — text, or a typed
# string — may not fill a path written; the refusal names the role, the
# ask and the page it came from (the first source, also through a second
# model), and the journal holds the reply's label. The same reply from a
# clean prompt is written.
WEB_ROOT=tmp
. "$TESTDIR/../lib/web.sh"

mkdir -p "$tmp/out"
printf '%s' "$tmp/out/pwned" >"$WEB_ROOT/path.txt"
echo '{"replies": [{"echo": true}]}' >"$tmp/echo.json"
cat >"$tmp/m.weft" <<'EOF_W'
import "std/http" as http
import "std/fs" as fs
role r { model: "mock/r" }
role s { model: "mock/s" }
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
fn main(base: string, dir: string) {
  let page = http.get("{base}/files/path.txt")
  let said = ask r page.body
  show("text", try [w][0](said))
  let typed = ask r page.body -> string
  show("typed", try [w][0](typed))
  let again = ask s said
  show("again", try [w][0](again))
  let clean = ask r "{dir}/out/clean"
  show("clean", try [w][0](clean))
}
EOF_W
run "$WEFT" run "$tmp/m.weft" --journal "$tmp/j.db" --mock-script "$tmp/echo.json" \
  --allow-net=127.0.0.1:$WPORT --allow-write="$tmp/out" --arg "base=$WBASE" --arg "dir=$tmp"
expect_rc 0 "run"
B="the body of http.request at main/http.request#1"
HINT='; pass it through a closed type or trust(x, "why")'
expect_out "text: untrusted: fs.write: path is untrusted text (from a reply of role r at main/ask#2 whose context held $B)$HINT"
expect_out "typed: untrusted: fs.write: path is untrusted text (from a reply of role r at main/ask#4 whose context held $B)$HINT"
expect_out "again: untrusted: fs.write: path is untrusted text (from a reply of role s at main/ask#6 whose context held $B)$HINT"
expect_out "clean: written"
[ ! -e "$tmp/out/pwned" ] || fail "a refused write happened"
[ -e "$tmp/out/clean" ] || fail "the clean reply was not written"
lab=$(sqlite3 "$tmp/j.db" "SELECT label FROM effects WHERE kind = 'ask' AND addr = 'main/ask#2'")
[ "$lab" = "a reply of role r at main/ask#2 whose context held $B" ] || fail "the journal's label of the reply: '$lab'"
lab=$(sqlite3 "$tmp/j.db" "SELECT coalesce(label, 'none') FROM effects WHERE kind = 'ask' AND addr = 'main/ask#8'")
[ "$lab" = none ] || fail "the clean reply was journaled with a label: '$lab'"

# the replay answers the asks from the journal: labelled as they were,
# even when the journal's labels were removed
sqlite3 "$tmp/j.db" "UPDATE effects SET label = NULL" || fail "cannot plant the journal"
run "$WEFT" replay 1 --journal "$tmp/j.db"
expect_rc 0 "replay"
expect_out "text: untrusted: fs.write: path is untrusted text (from a reply of role r at main/ask#2 whose context held $B)$HINT"

# the mock script's echo takes only true
echo '{"replies": [{"echo": false}]}' >"$tmp/bad.json"
run "$WEFT" run "$tmp/m.weft" --no-journal --mock-script "$tmp/bad.json" --arg "base=$WBASE" --arg "dir=$tmp"
expect_rc 2 "echo false"
expect_err '$.replies[0].echo: must be true'
echo '{"replies": [{"echo": true, "reply": "x"}]}' >"$tmp/bad.json"
run "$WEFT" run "$tmp/m.weft" --no-journal --mock-script "$tmp/bad.json" --arg "base=$WBASE" --arg "dir=$tmp"
expect_rc 2 "echo and reply"
expect_err 'needs exactly one of "reply", "value", "fail", "tool_calls" or "echo"'
exit 0
