# Per-call sampling settings reach both providers' wire formats: an ask's
# `with { temperature, top_p, max_tokens, stop }` overrides its role's for
# that call only (stop_sequences for Anthropic, stop for OpenAI; a role's
# own stop too), whether
# the role is a role item or a role value, and the next ask sends the
# role's own settings again.
. "$TESTDIR/../lib/server.sh"
mkdir "$tmp/work" && cd "$tmp/work" || exit 1

for p in anthropic openai; do
  cat >"$tmp/w.weft" <<WEFT
role cold { model: "$p/ok", temperature: 0.1, max_tokens: 300, stop: ["STOP"] }
role warm { model: "$p/ok" }
fn main(t: float = 0.7) -> string {
  let rs = [warm, cold]
  let a = ask cold with { temperature: t, top_p: 0.5, max_tokens: 40, stop: ["END", "##"] } "one"
  let b = ask cold "two"
  let c = ask rs[0] with { stop: ["X"] } "three"
  a + b + c
}
WEFT
  reset_stats
  run "$WEFT" run --no-journal "$tmp/w.weft"
  expect_rc 0 "$p: run"
  stats sampling >"$tmp/s.json"
  "$PY" - "$tmp/s.json" "$p" <<'PYEOF' || fail "$p: settings on the wire: $(cat "$tmp/s.json")"
import json, sys
seen = json.load(open(sys.argv[1]))
p = sys.argv[2]
stop = "stop_sequences" if p == "anthropic" else "stop"
other = "stop" if p == "anthropic" else "stop_sequences"
mt = "max_tokens"  # a local base URL gets the legacy name (openai.c)
assert len(seen) == 3, seen
a, b, c = seen
assert a["temperature"] == 0.7 and a["top_p"] == 0.5 and a[mt] == 40, a
assert a[stop] == ["END", "##"] and other not in a, a
# the role's own settings again (its stop too), nothing of the call before
assert b["temperature"] == 0.1 and b[mt] == 300 and "top_p" not in b and b[stop] == ["STOP"], b
# a role value (warm) with only stop: warm's defaults otherwise
assert c[stop] == ["X"] and "temperature" not in c and c[mt] == 4096, c
PYEOF
done

# A temperature computed at run time and out of range fails the ask before
# anything is sent, with a clear error of kind error.
reset_stats
run "$WEFT" run --no-journal "$tmp/w.weft" --arg t=2.5
expect_rc 1 "runtime temperature out of range"
contains "$err" "setting \`temperature\` must be between 0 and 2, got 2.5" || fail "no range error: $err"
[ "$(attempts)" = 0 ] || fail "an out-of-range ask reached the server"
exit 0
