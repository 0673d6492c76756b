# std/http bounds: a 100 MB body fails at the 16 MiB cap (and a request's
# own smaller max_bytes), a server that stalls after its headers fails the
# call at its deadline with kind timeout, ten redirects are followed and
# the eleventh is not; a `time` budget aborts a request in flight.
. "$TESTDIR/../lib/web.sh"
cat >"$tmp/req.weft" <<'EOF_W'
import "std/http" as http
fn main(url: string, timeout: duration = 30s, max: int = 16777216) {
  match try http.request({ method: "GET", url: url, timeout: timeout, max_bytes: max }) {
    Ok { value } => print("{value.status} {len(value.body)} bytes"),
    Failed { error } => print("FAILED {error.kind}: {error.message}"),
  }
}
EOF_W
req() { run "$WEFT" run "$tmp/req.weft" --no-journal --allow-net=127.0.0.1 "$@"; expect_no_crash "$*"; }

req --arg "url=$WBASE/big?bytes=104857600"
expect_out "FAILED error: GET 127.0.0.1: the response body is larger than 16 MiB"
req --arg "url=$WBASE/big?bytes=5000" --arg max=1000
expect_out "larger than 1000 bytes"
req --arg "url=$WBASE/big?bytes=5000" --arg max=5000
expect_out "200 5000 bytes"

start=$(date +%s%N)
req --arg "url=$WBASE/stall" --arg timeout=500ms
end=$(date +%s%N)
expect_out "FAILED timeout: GET 127.0.0.1: no complete response within 500 ms"
ms=$(( (end - start) / 1000000 ))
[ "$ms" -lt 10000 ] || fail "the stalled request took $ms ms"

req --arg "url=$WBASE/chain/10"
expect_out "200 13 bytes"
req --arg "url=$WBASE/chain/11"
expect_out "more than 10 redirects"

# a time budget stops a request in flight
cat >"$tmp/budget.weft" <<'EOF_W'
import "std/http" as http
fn main(url: string) {
  let s = budget { time: 300ms } { http.get(url).status } else { -1 }
  print("status {s}")
}
EOF_W
start=$(date +%s%N)
run "$WEFT" run "$tmp/budget.weft" --no-journal --allow-net=127.0.0.1 --arg "url=$WBASE/stall"
end=$(date +%s%N)
expect_no_crash "budget"
ms=$(( (end - start) / 1000000 ))
[ "$ms" -lt 10000 ] || fail "the time budget did not stop the request ($ms ms): $out $err"
contains "$out" "status 200" && fail "the stalled request completed: $out"
contains "$out$err" "status -1" || contains "$err" "budget exhausted: time" ||
  fail "the time budget did not end the request: $out $err"
exit 0
