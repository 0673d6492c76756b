# std/http end to end: get, post and request against a local web server;
# the response's status, lower-cased headers, body and final URL; a 404 is
# a response, not a failure; the call is an effect with its own address in
# the trace; a resumed run answers a finished request from the journal
# (the page changed in between, the resumed run sees what the journal has,
# and the server sees no second request).
WEB_ROOT=tmp
. "$TESTDIR/../lib/web.sh"

cat >"$tmp/basic.weft" <<'EOF_W'
import "std/http" as http
fn main(base: string) {
  let a = http.get("{base}/text?say=hello")
  print("{a.status} {a.body} {a.headers["x-test"]} {a.headers["content-type"]} {a.url}")
  let b = http.post("{base}/echo", "the body", {"Content-Type": "text/plain", "X-Mine": "yes"})
  let e = from_json[{ method: string, path: string, body: string, headers: map[string] }](json_parse(b.body))
  print("{e.method} {e.body} {e.headers["x-mine"]} {e.headers["content-type"]}")
  let c = http.request({ method: "PUT", url: "{base}/echo", body: "put body" })
  print("{from_json[{ method: string, path: string, body: string, headers: map[string] }](json_parse(c.body)).method}")
  let d = http.request({ method: "HEAD", url: "{base}/text" })
  print("{d.status} [{d.body}]")
  let f = http.get("{base}/nothing")
  print("{f.status}")
  let g = http.get("{base}/chain/2")
  print("{g.status} {g.url}")
}
EOF_W
run "$WEFT" run "$tmp/basic.weft" --no-journal --trace "$tmp/t.jsonl" --allow-net=127.0.0.1:$WPORT --arg "base=$WBASE"
expect_rc 0 "basic"
expect_out "200 hello one, two text/plain; charset=utf-8 $WBASE/text?say=hello"
expect_out "POST the body yes text/plain"
expect_out "PUT"
expect_out "200 []"
expect_out "404"
expect_out "200 $WBASE/chain/0"
grep -q '"main/http.request#1"' "$tmp/t.jsonl" || fail "no trace event at main/http.request#1: $(head -c 2000 "$tmp/t.jsonl")"
grep -q '"main/http.request#6"' "$tmp/t.jsonl" || fail "no trace event at main/http.request#6"

# ---- resume answers a finished request from the journal -----------------------
echo "first version" >"$WEB_ROOT/page.txt"
cat >"$tmp/resume.weft" <<'EOF_W'
import "std/http" as http
role r { model: "mock/m" }
fn main(url: string) {
  let p = http.get(url)
  print("page: {p.body}")
  let s = ask r "summarize {p.body}"
  print("summary: {s}")
}
EOF_W
cat >"$tmp/fail.json" <<'EOF_J'
{"replies": [{"match": "summarize", "fail": "auth"}]}
EOF_J
cat >"$tmp/ok.json" <<'EOF_J'
{"replies": [{"match": "summarize", "value": "short"}]}
EOF_J
run "$WEFT" run "$tmp/resume.weft" --journal "$tmp/j.db" --allow-net=127.0.0.1:$WPORT \
  --mock-script "$tmp/fail.json" --arg "url=$WBASE/files/page.txt"
[ "$rc" != 0 ] || fail "the first run should fail on its ask: $out"
expect_out "page: first version"
echo "second version" >"$WEB_ROOT/page.txt"
id=$("$WEFT" runs --journal "$tmp/j.db" --json | "$WPY" -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
run "$WEFT" resume "$id" --journal "$tmp/j.db" --mock-script "$tmp/ok.json" --allow-net=127.0.0.1:$WPORT
expect_rc 0 "resume"
expect_out "page: first version"
expect_out "summary: short"
n=$(weblog | "$WPY" -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin) if e["path"] == "/files/page.txt"))')
[ "$n" = 1 ] || fail "the page was requested $n times (a resume must answer it from the journal)"
exit 0
