# Three ways untrusted text once reached an acting argument unlabelled
# (docs/security.md, "Untrusted content"): the tool calls of a loop whose
# answer is typed (`ask agent … -> Note`), a response's url after the
# server's redirect, and the keys of a map given as an untrusted input.
# Each is refused now, and nothing is written.
WEB_ROOT=tmp
. "$TESTDIR/../lib/web.sh"

mkdir -p "$tmp/out" "$tmp/in"
printf '%s' "$tmp/out/pwned" >"$tmp/in/path.txt"

# ---- a typed tool loop ------------------------------------------------------------
cat >"$tmp/t.weft" <<'EOF_W'
import "std/fs" as fs
type Note = { summary: string }
/// Reads a page the operator saved.
fn fetch_page(url: string) -> string {
  fs.read(url)
}
/// Saves a note at a path.
fn save(path: string) -> string {
  fs.write(path, "note")
  "saved"
}
role agent { model: "mock/agent", tools: [fetch_page, save], max_steps: 4 }
fn main() {
  let n = ask agent "Read the page and save a note where it says" -> Note
  print("summary: {n.summary}")
}
EOF_W
cat >"$tmp/t.json" <<EOF_J
{"replies": [
  {"role": "agent", "step": 1, "tool_calls": [{"name": "fetch_page", "input": {"url": "$tmp/in/path.txt"}}]},
  {"role": "agent", "step": 2, "tool_calls": [{"name": "save", "input": {"path": "$tmp/out/pwned"}}]},
  {"role": "agent", "step": 3, "value": {"summary": "done"}}
]}
EOF_J
run "$WEFT" run "$tmp/t.weft" --no-journal --trace "$tmp/t.jsonl" --mock-script "$tmp/t.json" \
  --allow-read-untrusted="$tmp/in" --allow-write="$tmp/out"
expect_no_crash "typed loop"
expect_rc 0 "typed loop"
expect_out "summary: done"
[ ! -e "$tmp/out/pwned" ] || fail "the typed tool loop wrote what the page said"
grep -q 'fs.write: path is untrusted text (from a reply of role agent' "$tmp/t.jsonl" ||
  fail "the refusal is not in the trace"

# ---- a response's url after a redirect --------------------------------------------
cat >"$tmp/u.weft" <<'EOF_W'
import "std/http" as http
import "std/fs" as fs
fn w(path: string) -> bool {
  fs.write(path, "x")
  true
}
fn main(base: string, dir: string) {
  let r = http.get("{base}/redirect?to={base}/files/path.txt")
  match try [w][0]("{dir}/out/u{len(r.url)}") {
    Ok { value: _ } => print("url: written"),
    Failed { error } => print("url: {error.kind}: {error.message}"),
  }
}
EOF_W
run "$WEFT" run "$tmp/u.weft" --no-journal --allow-net=127.0.0.1:"$WPORT" --allow-write="$tmp/out" \
  --arg "base=$WBASE" --arg "dir=$tmp"
expect_rc 0 "url"
expect_out "url: untrusted: fs.write: path is untrusted text (from the url of http.request at main/http.request#"
ls "$tmp/out" | grep -q '^u' && fail "a path built from a redirect's url was written"

# ---- the keys of an untrusted map --------------------------------------------------
cat >"$tmp/m.weft" <<'EOF_W'
import "std/fs" as fs
fn w(path: string) -> bool {
  fs.write(path, "x")
  true
}
fn main(flags: map[int]) {
  for k in keys(flags) {
    match try [w][0](k) {
      Ok { value: _ } => print("key: written"),
      Failed { error } => print("key: {error.kind}: {error.message}"),
    }
  }
}
EOF_W
run "$WEFT" run "$tmp/m.weft" --no-journal --allow-write="$tmp/out" --arg "flags={\"$tmp/out/pwned\": 1}" \
  --untrusted-input=flags
expect_rc 0 "map keys"
expect_out "key: untrusted: fs.write: path is untrusted text (from main's input flags)"
[ ! -e "$tmp/out/pwned" ] || fail "an untrusted map's key was used as a path"
exit 0
