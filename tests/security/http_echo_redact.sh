# A response that echoes a credential of the grants file — in its body, in
# a header, in a failure status, or only a recognisable piece of it — never
# hands the credential to the program: the response is scrubbed the way
# every message is before it becomes a value.
. "$TESTDIR/../lib/web.sh"
SECRET="Bearer tok-SECRET-9f8e7d6c5b4a"
export HTTP_TEST_AUTH="$SECRET"
cat >"$tmp/grants.json" <<EOF_G
{"net": [{"origin": "http://127.0.0.1:$WPORT", "header": "authorization", "env": "HTTP_TEST_AUTH"}]}
EOF_G
cat >"$tmp/get.weft" <<'EOF_W'
import "std/http" as http
fn main(url: string) {
  match try http.get(url) {
    Ok { value } => {
      print("{value.status} {value.url} {value.body}")
      print(to_json(value.headers))
    },
    Failed { error } => print("FAILED {error.kind}: {error.message}"),
  }
}
EOF_W
leaks() {
  for piece in "tok-SECRET" "SECRET-9f8e" "5b4a"; do
    contains "$out$err" "$piece" && fail "$1: the credential reached the program: $out $err"
  done
  return 0
}
# echoed in the body
run "$WEFT" run "$tmp/get.weft" --no-journal --grants="$tmp/grants.json" --arg "url=$WBASE/echo"
expect_rc 0 "body echo"
expect_out '"authorization": "[redacted]"'
leaks "body echo"
# echoed in the response headers, whole and its last four bytes alone
run "$WEFT" run "$tmp/get.weft" --no-journal --grants="$tmp/grants.json" --arg "url=$WBASE/echo?as=header"
expect_rc 0 "header echo"
expect_out '"x-echo-authorization":"[redacted]"'
expect_out '"x-echo-tail":"[redacted]"'
leaks "header echo"
# in the body of a refusal
run "$WEFT" run "$tmp/get.weft" --no-journal --grants="$tmp/grants.json" --arg "url=$WBASE/echo?status=401"
expect_rc 0 "401 echo"
expect_out "401 "
leaks "401 echo"
# journaled and traced: neither file holds it either
run "$WEFT" run "$tmp/get.weft" --journal "$tmp/j.db" --trace "$tmp/t.jsonl" --grants="$tmp/grants.json" \
  --arg "url=$WBASE/echo?as=header"
expect_rc 0 "journaled echo"
leaks "journaled echo"
grep -a -q "tok-SECRET" "$tmp/j.db" "$tmp/t.jsonl" && fail "the credential is in the journal or trace"
# the credential was sent each time
[ "$(weblog | grep -o '"authorization": true' | wc -l)" -ge 4 ] || fail "the credential was not sent: $(weblog)"
exit 0
