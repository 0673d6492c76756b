# Untrusted content through the program's own code and through a model
# (docs/security.md, "Untrusted content: sources, sinks and the
# journal"): interpolation, a prompt built around a page, a tool-calling
# loop whose context held an untrusted file — each reaches a sink and is
# refused, and nothing is written. A literal union from a model is clean;
# trust(x, "why") clears a label, except under --untrusted without
# --allow-trust, where the refusal says so.
WEB_ROOT=tmp
. "$TESTDIR/../lib/web.sh"

mkdir -p "$tmp/out"
printf '%s' "$tmp/out/pwned" >"$WEB_ROOT/path.txt"
printf '%s' "out/pwned" >"$WEB_ROOT/rel.txt"
B="the body of http.request at main/http.request#1"
HINT='; pass it through a closed type or trust(x, "why")'
net="--allow-net=127.0.0.1:$WPORT"
common='import "std/http" as http
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
}'

# ---- interpolation and a prompt built around the page --------------------------
cat >"$tmp/i.weft" <<EOF_W
$common
role r { model: "mock/r" }
role c { model: "mock/c" }
fn main(base: string, dir: string) {
  let page = http.get("{base}/files/path.txt")
  let rel = http.get("{base}/files/rel.txt")
  show("interpolated", try [w][0]("{dir}/{rel.body}"))
  show("concatenated", try [w][0](page.body + ""))
  let said = ask r "{page.body}"
  show("prompt", try [w][0](said))
  let pick = ask c "Which of a or b? {page.body}" -> "a" | "b"
  show("union", try [w][0]("{dir}/out/{pick}"))
}
EOF_W
cat >"$tmp/i.json" <<'EOF_J'
{"replies": [{"role": "r", "echo": true}, {"role": "c", "value": "a"}]}
EOF_J
run "$WEFT" run "$tmp/i.weft" --no-journal --mock-script "$tmp/i.json" $net --allow-write="$tmp/out" \
  --arg "base=$WBASE" --arg "dir=$tmp"
expect_rc 0 "interpolation"
expect_out "interpolated: untrusted: fs.write: path is untrusted text (from the body of http.request at main/http.request#"
expect_out "concatenated: untrusted: fs.write: path is untrusted text (from $B)$HINT"
expect_out "prompt: untrusted: fs.write: path is untrusted text (from a reply of role r at main/ask#"
expect_out "union: written"
[ ! -e "$tmp/out/pwned" ] || fail "a refused write happened"
[ -e "$tmp/out/a" ] || fail "the literal union's path was not written"

# ---- a tool-calling loop -----------------------------------------------------------
cat >"$tmp/t.weft" <<EOF_W
$common
/// Reads a page the operator saved.
fn fetch_page(url: string) -> string {
  // a file under --allow-read-untrusted, which the checker cannot see (a
  // role with a tool that fetches a page and one that writes is refused
  // before the run, E0650): this is the run time's refusal
  fs.read(url)
}
/// Saves a note at a path.
fn save(path: string) -> string {
  fs.write(path, "note")
  "saved"
}
role agent { model: "mock/agent", tools: [fetch_page, save], max_steps: 4 }
fn main(base: string) {
  print(ask agent "Read {base}/files/path.txt and save a note where it says")
}
EOF_W
cat >"$tmp/t.json" <<EOF_J
{"replies": [
  {"role": "agent", "step": 1, "tool_calls": [{"name": "fetch_page", "input": {"url": "$tmp/in/path.txt"}}]},
  {"role": "agent", "step": 2, "tool_calls": [{"name": "save", "input": {"path": "$tmp/out/pwned"}}]},
  {"role": "agent", "step": 3, "reply": "done"}
]}
EOF_J
mkdir -p "$tmp/in"
printf '%s' "$tmp/out/pwned" >"$tmp/in/path.txt"
run "$WEFT" run "$tmp/t.weft" --no-journal --trace "$tmp/t.jsonl" --mock-script "$tmp/t.json" $net \
  --allow-read-untrusted="$tmp/in" --allow-write="$tmp/out" --arg "base=$WBASE"
expect_rc 0 "tool loop"
expect_out "done"
[ ! -e "$tmp/out/pwned" ] || fail "the tool loop wrote what the page said"
grep -q 'fs.write: path is untrusted text (from a reply of role agent' "$tmp/t.jsonl" ||
  fail "the refusal is not in the trace: $(grep -o '"error":"[^"]*"' "$tmp/t.jsonl" | head -5)"

# ---- trust --------------------------------------------------------------------------
cat >"$tmp/tr.weft" <<EOF_W
$common
fn main(base: string) {
  let page = http.get("{base}/files/path.txt")
  show("trusted", try [w][0](trust(page.body, "the operator's own page")))
}
EOF_W
run "$WEFT" run "$tmp/tr.weft" --journal "$tmp/tr.db" $net --allow-write="$tmp/out" --arg "base=$WBASE"
expect_out "trusted: written"
rm -f "$tmp/out/pwned"
# the decision is journaled beside the effects, with the origin it cleared
rec=$(sqlite3 "$tmp/tr.db" "SELECT request FROM effects WHERE kind = 'trust'")
[ "$rec" = "{\"reason\":\"the operator's own page\",\"origin\":\"$B\"}" ] || fail "the trust record: '$rec'"
run "$WEFT" run "$tmp/tr.weft" --no-journal --untrusted $net --allow-write="$tmp/out" --arg "base=$WBASE"
expect_out "trusted: untrusted: fs.write: path is untrusted text (from $B)$HINT (this run is --untrusted: trust() takes effect only with --allow-trust)"
[ ! -e "$tmp/out/pwned" ] || fail "trust was honoured under --untrusted"
run "$WEFT" run "$tmp/tr.weft" --no-journal --untrusted --allow-trust $net --allow-write="$tmp/out" --arg "base=$WBASE"
expect_out "trusted: written"
exit 0
