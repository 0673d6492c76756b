# std/http and the --allow-net grant: nothing is reachable ungranted, the
# refusal names the flag; a redirect to an ungranted host is refused; a
# name granted is not a way to loopback or the metadata address (the
# address is checked where libcurl connects, after DNS); localhost and an
# address literal reach loopback only when granted as such.
. "$TESTDIR/../lib/web.sh"

cat >"$tmp/get.weft" <<'EOF_W'
import "std/http" as http
fn main(url: string) {
  match try http.get(url) {
    Ok { value } => print("{value.status} {value.body}"),
    Failed { error } => print("FAILED {error.kind}: {error.message}"),
  }
}
EOF_W
get() {
  u=$1
  shift
  run "$WEFT" run "$tmp/get.weft" --no-journal --arg "url=$u" "$@"
  expect_no_crash "get $u"
}

# ---- no grant: refused, naming the flag; nothing reaches the server ------------
get "$WBASE/text?say=secret"
expect_out "FAILED error: connecting to 127.0.0.1:$WPORT needs --allow-net=127.0.0.1:$WPORT"
get "$WBASE/text?say=secret" --allow-net=127.0.0.2
expect_out "needs --allow-net=127.0.0.1:$WPORT"
get "$WBASE/text?say=secret" --allow-net=127.0.0.1:1
expect_out "needs --allow-net=127.0.0.1:$WPORT"
[ "$(weblog)" = "[]" ] || fail "an ungranted request reached the server: $(weblog)"

# ---- granted: by address, by address and port ----------------------------------
get "$WBASE/text?say=hello" --allow-net=127.0.0.1
expect_out "200 hello"
get "$WBASE/text?say=again" --allow-net=127.0.0.1:$WPORT
expect_out "200 again"

# ---- a redirect to an ungranted host is refused, before any request to it ------
get "$WBASE/redirect?to=http://localhost:$WPORT/text" --allow-net=127.0.0.1:$WPORT
expect_out "FAILED error: 127.0.0.1 redirected to http://localhost:$WPORT/text: connecting to localhost:$WPORT needs --allow-net=localhost:$WPORT"
contains "$(weblog)" '"host": "localhost' && fail "the redirect reached the ungranted host: $(weblog)"
# a redirect to another scheme
get "$WBASE/redirect?to=file:///etc/passwd" --allow-net=127.0.0.1:$WPORT
expect_out "only http and https"
contains "$out" "root:" && fail "a redirect read a file: $out"
# a redirect to the metadata address, granted host or not
get "$WBASE/redirect?to=http://169.254.169.254/latest/meta-data/" --allow-net=127.0.0.1:$WPORT
expect_out "needs --allow-net=169.254.169.254:80"

# ---- localhost: granted as such, it reaches loopback ---------------------------
get "http://localhost:$WPORT/text?say=local" --allow-net=localhost:$WPORT
expect_out "200 local"
# granted 127.0.0.1 does not grant the name localhost
get "http://localhost:$WPORT/text?say=local" --allow-net=127.0.0.1:$WPORT
expect_out "needs --allow-net=localhost:$WPORT"

# ---- a granted name whose DNS answer is loopback or metadata is refused ---------
# (WEFT_RESOLVE answers a name without DNS, as a rebinding server would)
WEFT_RESOLVE="rebind.test:$WPORT:127.0.0.1" get "http://rebind.test:$WPORT/text?say=x" --allow-net=rebind.test
expect_out "rebind.test resolves to 127.0.0.1, a loopback address"
expect_out "--allow-net=127.0.0.1:$WPORT"
WEFT_RESOLVE="meta.test:80:169.254.169.254" get "http://meta.test/latest/meta-data/" --allow-net=meta.test
expect_out "169.254.169.254, a cloud metadata address"
WEFT_RESOLVE="v6.test:80:[fd00:ec2::254]" get "http://v6.test/" --allow-net=v6.test
expect_out "a cloud metadata address"
WEFT_RESOLVE="mapped.test:$WPORT:[::ffff:127.0.0.1]" get "http://mapped.test:$WPORT/text" --allow-net=mapped.test
expect_out "a loopback address"
contains "$(weblog)" '"host": "rebind.test' && fail "a rebound name reached loopback: $(weblog)"
contains "$(weblog)" '"host": "mapped.test' && fail "a mapped address reached loopback: $(weblog)"

# ---- schemes and URLs ------------------------------------------------------------
get "file:///etc/passwd" --allow-net=127.0.0.1
expect_out "only http and https"
get "gopher://127.0.0.1:$WPORT/x" --allow-net=127.0.0.1
expect_out "only http and https"
get "http://user:pw@127.0.0.1:$WPORT/text" --allow-net=127.0.0.1
expect_out "may not carry a user name or password"
exit 0
