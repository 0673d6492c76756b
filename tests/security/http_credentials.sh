# std/http credentials: only from the operator's grants file, bound to one
# origin, read from an environment variable; never sent after a redirect
# to another host, never set by the program, never in the trace, the
# journal, `weft show` or a message.
. "$TESTDIR/../lib/web.sh"
SECRET="Bearer tok-SECRET-9f8e7d6c5b4a"
export HTTP_TEST_AUTH="$SECRET"
cat >"$tmp/grants.json" <<EOF_G
{"net": ["localhost:$WPORT",
         {"origin": "http://127.0.0.1:$WPORT", "header": "authorization", "env": "HTTP_TEST_AUTH"}]}
EOF_G
cat >"$tmp/get.weft" <<'EOF_W'
import "std/http" as http
fn main(url: string) {
  match try http.get(url) {
    Ok { value } => print("{value.status} {value.url} {value.body}"),
    Failed { error } => print("FAILED {error.kind}: {error.message}"),
  }
}
EOF_W

# the credential goes to its own origin (the server log says so; the
# echo of it is scrubbed before the program sees the response)
run "$WEFT" run "$tmp/get.weft" --no-journal --grants="$tmp/grants.json" --arg "url=$WBASE/echo"
expect_no_crash "echo"
expect_out "200 $WBASE/echo"
expect_out '"authorization": "[redacted]"'
contains "$(weblog)" '"path": "/echo", "host": "127.0.0.1:'"$WPORT"'", "method": "GET", "authorization": true' ||
  fail "the credential was not sent to its origin: $(weblog)"
# journaled and traced, a page that does not echo it
run "$WEFT" run "$tmp/get.weft" --journal "$tmp/j.db" --trace "$tmp/t1.jsonl" --grants="$tmp/grants.json" \
  --arg "url=$WBASE/text?say=plain"
expect_out "200 $WBASE/text?say=plain plain"
contains "$(weblog)" '"path": "/text", "host": "127.0.0.1:'"$WPORT"'", "method": "GET", "authorization": true' ||
  fail "the credential was not sent to its origin: $(weblog)"

# ... and not to another host after a redirect (same server, other name)
run "$WEFT" run "$tmp/get.weft" --journal "$tmp/j.db" --trace "$tmp/t2.jsonl" --grants="$tmp/grants.json" \
  --arg "url=$WBASE/redirect?to=http://localhost:$WPORT/echo"
expect_no_crash "redirect"
expect_out "200 http://localhost:$WPORT/echo"
contains "$out" "SECRET" && fail "the credential followed the redirect: $out"
contains "$out" '"authorization"' && fail "an authorization header followed the redirect: $out"
"$WPY" - "$(weblog)" <<'EOF_P' || fail "the server log: $(weblog)"
import json, sys
log = json.loads(sys.argv[1])
hops = [(e["path"], e["host"].split(":")[0], e["authorization"]) for e in log]
assert ("/redirect", "127.0.0.1", True) in hops, hops
assert ("/echo", "localhost", False) in hops, hops
assert not any(h == "localhost" and a for _, h, a in hops), hops
EOF_P

# ... and not over another port of the same host (the origin is exact)
cat >"$tmp/grants2.json" <<EOF_G
{"net": [{"origin": "http://127.0.0.1:1", "header": "authorization", "env": "HTTP_TEST_AUTH"},
         "127.0.0.1:$WPORT"]}
EOF_G
run "$WEFT" run "$tmp/get.weft" --no-journal --grants="$tmp/grants2.json" --arg "url=$WBASE/echo"
expect_out "200 $WBASE/echo"
contains "$out" "SECRET" && fail "the credential went to another port: $out"

# the program cannot send credentials of its own
cat >"$tmp/auth.weft" <<'EOF_W'
import "std/http" as http
fn main(url: string) {
  match try http.request({ method: "GET", url: url, headers: {"Authorization": "Bearer stolen"} }) {
    Ok { value } => print("{value.status} {value.body}"),
    Failed { error } => print("FAILED {error.kind}: {error.message}"),
  }
  match try http.request({ method: "GET", url: url, headers: {"X-A": "1\r\nCookie: a=b"} }) {
    Ok { value } => print("{value.status} {value.body}"),
    Failed { error } => print("FAILED {error.kind}: {error.message}"),
  }
  match try http.request({ method: "GET", url: url, headers: {"cookie": "session=1"} }) {
    Ok { value } => print("{value.status} {value.body}"),
    Failed { error } => print("FAILED {error.kind}: {error.message}"),
  }
}
EOF_W
run "$WEFT" run "$tmp/auth.weft" --no-journal --allow-net=127.0.0.1 --arg "url=$WBASE/echo"
expect_out "FAILED error: the header Authorization carries credentials"
expect_out "is not valid HTTP"
expect_out "FAILED error: the header cookie carries credentials"
contains "$out" "stolen" && fail "a program's credential was sent: $out"

# a missing variable refuses the run before it starts
run env -u HTTP_TEST_AUTH "$WEFT" run "$tmp/get.weft" --no-journal --grants="$tmp/grants.json" --arg "url=$WBASE/echo"
expect_rc 2 "a credential without its variable"
expect_err "HTTP_TEST_AUTH"

# malformed credential entries refuse the run, naming what is wrong
for bad in '{"origin": "ftp://127.0.0.1", "header": "authorization", "env": "HTTP_TEST_AUTH"}' \
           '{"origin": "http://127.0.0.1/path", "header": "authorization", "env": "HTTP_TEST_AUTH"}' \
           '{"origin": "http://u@127.0.0.1", "header": "authorization", "env": "HTTP_TEST_AUTH"}' \
           '{"origin": "http://127.0.0.1", "header": "bad header", "env": "HTTP_TEST_AUTH"}' \
           '{"origin": "http://127.0.0.1", "header": "authorization"}'; do
  printf '{"net": [%s]}' "$bad" >"$tmp/bad.json"
  run "$WEFT" run "$tmp/get.weft" --no-journal --grants="$tmp/bad.json" --arg "url=$WBASE/echo"
  expect_rc 2 "a malformed credential entry: $bad"
  expect_err "--grants"
  contains "$err" "tok-SECRET" && fail "the refusal shows the credential: $err"
done
HTTP_TEST_AUTH="$(printf 'Bearer a\r\nX-Injected: 1')" run "$WEFT" run "$tmp/get.weft" --no-journal \
  --grants="$tmp/grants.json" --arg "url=$WBASE/echo"
expect_rc 2 "a credential value with a line break"

# nowhere on disk: trace, journal, weft show, the HTML timeline
for f in "$tmp/t1.jsonl" "$tmp/t2.jsonl" "$tmp/j.db" "$tmp/j.db-wal"; do
  [ -f "$f" ] || continue
  grep -q "tok-SECRET" "$f" && fail "the credential is in $f"
done
for id in 1 2; do
  run "$WEFT" show "$id" --journal "$tmp/j.db" --json
  contains "$out$err" "tok-SECRET" && fail "weft show prints the credential"
  run "$WEFT" trace "$id" --journal "$tmp/j.db" --html "$tmp/t$id.html"
  grep -q "tok-SECRET" "$tmp/t$id.html" 2>/dev/null && fail "the HTML timeline holds the credential"
done
exit 0
