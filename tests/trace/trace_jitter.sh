# Effect addresses do not depend on timing: 20 asks against the local test
# server with random latency (model jitter-5-60), run twice against servers
# with different seeds, finish in different orders but give the same
# results and the same set of addresses in the trace. A branch whose
# provider echoes the API key fails under `tolerate 1`: the key reaches
# neither the trace nor stderr.
. "$TESTDIR/../lib/server.sh"

cat >"$tmp/jit.weft" <<'EOF_W'
role r { model: "openai/jitter-5-60" }
role bad { model: "openai/fault-echokey" }

fn main() -> list[string] {
  let t = fanout i in range(20) {
    if i == 7 { ask bad "leak {i}" } else { ask r "item {i}" }
  }
  let j = barrier t tolerate 1
  j.ok
}
EOF_W

# A second server with another seed: other latencies, another finish order.
"$PY" "$SERVER" --port 0 --port-file "$tmp/port2" --seed 4242 2>"$tmp/server2.log" &
srv2_pid=$!
trap 'kill "$srv2_pid" 2>/dev/null; wait "$srv2_pid" 2>/dev/null; stop_server' EXIT
i=0
while [ ! -s "$tmp/port2" ]; do
  i=$((i + 1))
  [ "$i" -le 200 ] || fail "the second test server did not start: $(cat "$tmp/server2.log")"
  sleep 0.05
done
BASE2="http://127.0.0.1:$(cat "$tmp/port2")"

run "$WEFT" run "$tmp/jit.weft" --retries 0 --trace "$tmp/a.jsonl"
expect_rc 0 "first run"
out1=$out
err1=$err
OPENAI_BASE_URL=$BASE2 run "$WEFT" run "$tmp/jit.weft" --retries 0 --trace "$tmp/b.jsonl"
expect_rc 0 "second run"
[ "$out" = "$out1" ] || fail "results differ between runs: $out1 / $out"
contains "$out" '"echo: item 19"' || fail "unexpected result: $out"

asks() { grep '"ev":"ask"' "$1" | grep -o '"addr":"[^"]*"'; }
[ "$(asks "$tmp/a.jsonl" | wc -l)" = 20 ] || fail "expected 20 ask events: $(asks "$tmp/a.jsonl")"
[ "$(asks "$tmp/a.jsonl" | sort)" = "$(asks "$tmp/b.jsonl" | sort)" ] || fail "ask addresses differ between runs"
all() { grep -o '"addr":"[^"]*"' "$1" | sort; }
[ "$(all "$tmp/a.jsonl")" = "$(all "$tmp/b.jsonl")" ] || fail "effect addresses differ between runs"
# the point of the test: the asks finished in a different order
[ "$(asks "$tmp/a.jsonl")" != "$(asks "$tmp/b.jsonl")" ] || fail "both runs finished in the same order: the test proves nothing"
grep -q '"addr":"main/fanout#1@5\[12\]/ask#1","role":"r","model":"openai/jitter-5-60","prompt":"item 12","reply":"echo: item 12"' "$tmp/a.jsonl" ||
  fail "no ask event for branch 12"
grep -q '"addr":"main/fanout#1@5\[7\]/ask#1",.*"status":"failed"' "$tmp/a.jsonl" || fail "no failed ask for branch 7"
grep -q '"ev":"barrier","addr":"main/barrier#2","mode":"tolerate 1","branches":20,"ok":19,"failed":1' "$tmp/a.jsonl" ||
  fail "barrier event: $(grep barrier "$tmp/a.jsonl")"
bad=$(grep -cv '^{.*}$' "$tmp/a.jsonl")
[ "$bad" = 0 ] || fail "$bad trace lines are not one JSON object"
for f in "$tmp/a.jsonl" "$tmp/b.jsonl"; do
  if grep -q -e SECRET -e "$OPENAI_API_KEY" -e "$ANTHROPIC_API_KEY" "$f"; then fail "a key reached the trace"; fi
done
contains "$err1" SECRET && fail "a key reached stderr"
exit 0
