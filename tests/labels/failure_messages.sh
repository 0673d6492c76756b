# A failure may quote what untrusted content said (docs/security.md,
# "Untrusted content: propagation"): an ask whose context held a page and
# whose reply failed its checks, and an HTTP request the other side
# failed, give `try` a failure whose message is untrusted: it may not fill
# a path written. The same failure from a clean prompt is clean.
WEB_ROOT=tmp
. "$TESTDIR/../lib/web.sh"

mkdir -p "$tmp/out"
printf '%s' "$tmp/out/pwned" >"$WEB_ROOT/path.txt"
echo '{"replies": [{"echo": true}]}' >"$tmp/echo.json"
cat >"$tmp/f.weft" <<'EOF_W'
import "std/http" as http
import "std/fs" as fs
role r { model: "mock/r", repairs: 0 }
fn w(path: string) -> bool {
  fs.write(path, "x")
  true
}
fn show(what: string, m: string) {
  match try [w][0]("{m}") {
    Ok { value: _ } => print("{what}: written"),
    Failed { error } => print("{what}: {error.kind}: {error.message}"),
  }
}
fn main(base: string, dir: string) {
  let page = http.get("{base}/files/path.txt")
  match try ask r page.body -> int {
    Ok { value: _ } => print("reply: an int?"),
    Failed { error } => show("reply", "{dir}/out/x{len(error.message)}"),
  }
  match try ask r "{dir}/out/clean" -> int {
    Ok { value: _ } => print("clean: an int?"),
    Failed { error } => show("clean", "{dir}/out/c{len(error.message)}"),
  }
  match try http.get("{base}/redirect?to=http://example.invalid/steer") {
    Ok { value: _ } => print("redirect: followed?"),
    Failed { error } => show("redirect", "{dir}/out/r{len(error.message)}"),
  }
}
EOF_W
run "$WEFT" run "$tmp/f.weft" --no-journal --mock-script "$tmp/echo.json" --allow-net=127.0.0.1:"$WPORT" \
  --allow-write="$tmp/out" --arg "base=$WBASE" --arg "dir=$tmp"
expect_no_crash "failures"
expect_rc 0 "failures"
expect_out "reply: untrusted: fs.write: path is untrusted text (from a reply of role r at main/ask#"
expect_out "clean: written"
expect_out "redirect: untrusted: fs.write: path is untrusted text (from the body of http.request at main/http.request#"
ls "$tmp/out" | grep -q '^x' && fail "a failure quoting a page was written: $(ls "$tmp/out")"
ls "$tmp/out" | grep -q '^r' && fail "a failed request's message was written: $(ls "$tmp/out")"
exit 0
