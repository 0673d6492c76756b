# The local server refuses, as each real API does, a structured-output
# schema with a keyword outside that API's accepted subset: Anthropic any
# numeric, length or item-count bound (400, its error body shape), OpenAI a
# string length (400). What each accepts passes. Requests sent with curl, so
# the check stands on its own; server_accepts.sh runs weft against it.
. "$TESTDIR/../lib/server.sh"

# post PATH BODY: status in $status, body in $body
post() {
  if [ "$1" = /v1/messages ]; then
    hdr="x-api-key: $ANTHROPIC_API_KEY"
  else
    hdr="Authorization: Bearer $OPENAI_API_KEY"
  fi
  status=$(curl -s -o "$tmp/body" -w '%{http_code}' -X POST "$BASE$1" \
    -H "content-type: application/json" -H "anthropic-version: 2023-06-01" -H "$hdr" -d "$2")
  body=$(cat "$tmp/body")
}
anth() {
  post /v1/messages '{"model":"claude-x","max_tokens":50,"messages":[{"role":"user","content":"hi"}],"output_config":{"format":{"type":"json_schema","schema":{"type":"object","properties":{"v":'"$1"'},"required":["v"],"additionalProperties":false}}}}'
}
oai() {
  post /v1/chat/completions '{"model":"gpt-ok","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"weft_reply","strict":true,"schema":{"type":"object","properties":{"v":'"$1"'},"required":["v"],"additionalProperties":false}}}}'
}

for s in '{"type":"integer","minimum":1}' '{"type":"number","maximum":1.5}' \
         '{"type":"string","maxLength":5}' '{"type":"array","items":{"type":"string"},"maxItems":3}' \
         '{"type":"array","items":{"type":"string"},"minItems":2}'; do
  anth "$s"
  [ "$status" = 400 ] || fail "anthropic accepted $s: $status $body"
  contains "$body" '"type": "error"' || contains "$body" '"type":"error"' || fail "anthropic body shape: $body"
  contains "$body" 'invalid_request_error' || fail "anthropic error type: $body"
  contains "$body" 'is not supported' || contains "$body" 'only supports' || fail "anthropic message: $body"
done
anth '{"type":"integer","description":"an integer from 1 to 10"}'
[ "$status" = 200 ] || fail "anthropic refused a description: $status $body"
anth '{"type":"array","items":{"type":"string"},"minItems":1}'
[ "$status" = 200 ] || fail "anthropic refused minItems 1: $status $body"

for s in '{"type":"string","minLength":1}' '{"type":"string","maxLength":9}'; do
  oai "$s"
  [ "$status" = 400 ] || fail "openai accepted $s: $status $body"
  contains "$body" 'is not permitted' || fail "openai message: $body"
  contains "$body" 'invalid_request_error' || fail "openai error type: $body"
done
for s in '{"type":"integer","minimum":1,"maximum":10}' '{"type":"array","items":{"type":"number"},"minItems":2,"maxItems":4}'; do
  oai "$s"
  [ "$status" = 200 ] || fail "openai refused $s: $status $body"
done
exit 0
