# The test server itself speaks the wire formats of docs/providers.md:
# Anthropic SSE with `event:` lines whose name equals the JSON type, ending
# in message_stop; OpenAI SSE ending in [DONE] with a usage chunk when asked;
# schema-shaped JSON replies; 401 without a key; attempt-driven faults; and
# it never prints a key. (Checks the tool, so engine failures are not
# blamed on it.)
. "$TESTDIR/../lib/server.sh"

post() {  # post PATH BODY [HEADER...]
  p=$1; b=$2; shift 2
  curl -s -N "$BASE$p" -H 'content-type: application/json' "$@" -d "$b"
}
apost() { post "$@" -H "x-api-key: $ANTHROPIC_API_KEY" -H "anthropic-version: 2023-06-01"; }
opost() { post "$@" -H "authorization: Bearer $ANTHROPIC_API_KEY"; }
SCHEMA='{"type":"object","properties":{"lvl":{"enum":["lo","hi"]},"n":{"anyOf":[{"type":"null"},{"type":"integer"}]},"xs":{"type":"array","items":{"type":"number"}},"s":{"type":"string"},"b":{"type":"boolean"}},"required":["lvl","n","xs","s","b"]}'

apost /v1/messages '{"model":"m","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"hi there"}]}' >"$tmp/a.sse"
"$PY" - "$tmp/a.sse" <<'EOF' || fail "anthropic stream framing"
import json, sys
evs, name, text = [], None, ""
for line in open(sys.argv[1], encoding="utf-8").read().split("\n"):
    if line.startswith("event: "): name = line[7:]
    elif line.startswith("data: "):
        d = json.loads(line[6:]); assert d["type"] == name, (d, name); evs.append(name)
        if name == "content_block_delta": text += d["delta"]["text"]
assert evs[0] == "message_start" and evs[-1] == "message_stop", evs
assert "message_delta" in evs and "ping" in evs
assert text == "echo: hi there", text
EOF

opost /v1/chat/completions '{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"r","schema":'"$SCHEMA"'}}}' >"$tmp/o.sse"
"$PY" - "$tmp/o.sse" <<'EOF' || fail "openai stream framing"
import json, sys
datas = [l[6:] for l in open(sys.argv[1]).read().split("\n") if l.startswith("data: ")]
assert datas[-1] == "[DONE]", datas[-1]
chunks = [json.loads(d) for d in datas[:-1]]
assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
assert all(c["usage"] is None for c in chunks[:-1])
text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1])
assert json.loads(text) == {"lvl": "lo", "n": 1, "xs": [1.5, 1.5], "s": "text", "b": True}, text
EOF

# No usage chunk unless asked; non-streaming usage adds up.
opost /v1/chat/completions '{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}' | grep -q '"usage"' && fail "usage without include_usage"
opost /v1/chat/completions '{"model":"m","messages":[{"role":"user","content":"abc"}]}' |
  "$PY" -c 'import json,sys; d=json.load(sys.stdin); u=d["usage"]; assert u["prompt_tokens"]+u["completion_tokens"]==u["total_tokens"]; assert d["choices"][0]["message"]["content"]=="echo: abc"' ||
  fail "openai non-streaming reply"

# Missing key: 401 with each provider's error shape.
out=$(post /v1/messages '{"model":"m","max_tokens":9,"messages":[]}' -H anthropic-version:2023-06-01 -w ' %{http_code}')
contains "$out" '"authentication_error"' && contains "$out" " 401" || fail "anthropic no key: $out"
out=$(post /v1/chat/completions '{"model":"m","messages":[]}' -w ' %{http_code}')
contains "$out" '"error":{"message"' && contains "$out" " 401" || fail "openai no key: $out"

# Faults follow x-stainless-retry-count: fail attempt 0, succeed on attempt 1.
body='{"model":"fault-529-then-ok","max_tokens":9,"messages":[{"role":"user","content":"k"}]}'
out=$(apost /v1/messages "$body" -H x-stainless-retry-count:0 -w ' %{http_code}')
contains "$out" '"overloaded_error"' && contains "$out" " 529" || fail "529 on attempt 0: $out"
out=$(apost /v1/messages "$body" -H x-stainless-retry-count:1 -w ' %{http_code}')
contains "$out" '"echo: k"' && contains "$out" " 200" || fail "ok on attempt 1: $out"
[ "$(stats attempts_by_prompt | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["k"])')" = 2 ] ||
  fail "attempts_by_prompt: $(stats)"

# The 401 fault echoes the key the way OpenAI does (first 8, last 4) — the
# client must redact that — but the server's own output never holds a key.
out=$(opost /v1/chat/completions '{"model":"fault-401","messages":[]}')
contains "$out" "sk-ant-t***6789" || fail "401 body: $out"
reset_stats
[ "$(stats requests)" = 0 ] || fail "reset"
if grep -q "SECRET" "$tmp/server.log"; then fail "the server printed a key"; fi
exit 0
