# Tool calls on the wire, both formats, against the test server: what
# anthropic.c / openai.c send is accepted, what the real APIs reject about
# tools is rejected with their 400 shapes, and the server's tool-call
# replies (streamed and not, with text, with defects) parse into the calls
# they carry. The encoders and parsers are driven through the unit binary
# (tests/unit/test_providers --body / --parse), as no program path makes
# tool calls on its own here.
. "$TESTDIR/../lib/server.sh"

UNIT="$(dirname "$WEFT")/tests/unit/test_providers"
[ -x "$UNIT" ] || fail "no $UNIT (build the unit tests first)"

post() {  # post PATH BODY [HEADER...]
  p=$1; b=$2; shift 2
  curl -s -N "$BASE$p" -H 'content-type: application/json' "$@" -d "$b"
}
apost() { post /v1/messages "$@" -H "x-api-key: $ANTHROPIC_API_KEY" -H "anthropic-version: 2023-06-01"; }
opost() { post /v1/chat/completions "$@" -H "authorization: Bearer $ANTHROPIC_API_KEY"; }
# reply PROVIDER MODEL [stream]: the encoder's golden tool request with
# MODEL, sent; prints what the parser makes of the reply.
reply() {
  "$UNIT" --body "$1" ${3:-} | sed "s/\"model\":\"m-1\"/\"model\":\"$2\"/" >"$tmp/body.json"
  if [ "$1" = anthropic ]; then apost "$(cat "$tmp/body.json")"; else opost "$(cat "$tmp/body.json")"; fi >"$tmp/reply"
  "$UNIT" --parse "$1" "$tmp/reply"
}

# The golden bodies are accepted; the final answer shows the tool result
# reached the model (the last turn answers toolu_01A).
for p in anthropic openai; do
  for s in "" stream; do
    out=$(reply $p m $s)
    contains "$out" "text: echo: Weather in Paris and Rome? | tool results: 18C sunny" ||
      fail "$p $s: golden tool request not answered: $out"
  done
done

# tools-N: the first N steps call every offered tool, arguments from its
# schema; streamed and not, with a text block first ("tooltext"). The
# golden request has made two steps already, so tools-3 calls once more.
for p in anthropic openai; do
  stop=tool_use; [ $p = openai ] && stop=tool_calls
  for s in "" stream; do
    out=$(reply $p tools-3+tooltext $s)
    contains "$out" "text: Let me check." && contains "$out" "stop: $stop" ||
      fail "$p $s: tool-call reply text/stop: $out"
    contains "$out" '|get_weather|{"location":"text"}|-' && contains "$out" '|now|{}|-' ||
      fail "$p $s: tool-call reply calls: $out"
    [ "$(printf '%s\n' "$out" | grep -c '^call: ')" = 2 ] || fail "$p $s: two calls: $out"
  done
done

# What the real APIs reject, with their 400 shapes.
T='"tools":[{"name":"get weather","input_schema":{"type":"object"}}]'
out=$(apost '{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"q"}],'"$T"'}' -w ' %{http_code}')
contains "$out" "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}\$'" &&
  contains "$out" '"invalid_request_error"' && contains "$out" ' 400' || fail "anthropic bad tool name: $out"
T='"tools":[{"type":"function","function":{"name":"get.weather","parameters":{"type":"object"}}}]'
out=$(opost '{"model":"m","messages":[{"role":"user","content":"q"}],'"$T"'}' -w ' %{http_code}')
contains "$out" "Invalid 'tools[0].function.name': string does not match pattern." &&
  contains "$out" '"param":"tools[0].function.name","code":"invalid_value"' && contains "$out" ' 400' ||
  fail "openai bad tool name: $out"
N=$(printf 'a%.0s' $(seq 65))
out=$(apost '{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"q"}],"tools":[{"name":"'$N'","input_schema":{"type":"object"}}]}')
contains "$out" "tools.0.custom.name: String should match pattern" || fail "anthropic 65-character tool name: $out"
out=$(apost '{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"q"}],"tools":[{"name":"a","input_schema":{"type":"object"}},{"name":"a","input_schema":{"type":"object"}}]}')
contains "$out" "tools: Tool names must be unique." || fail "anthropic duplicate tool names: $out"

U='{"role":"user","content":"q"}'
AU='{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]}'
out=$(apost '{"model":"m","max_tokens":9,"messages":['"$U"','"$AU"',{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_9","content":"x"}]}]}' -w ' %{http_code}')
contains "$out" 'messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9.' &&
  contains "$out" ' 400' || fail "anthropic tool_result for no tool_use: $out"
out=$(apost '{"model":"m","max_tokens":9,"messages":['"$U"','"$AU"',{"role":"user","content":"and?"}]}')
contains "$out" 'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1.' ||
  fail "anthropic tool_use without tool_result: $out"
out=$(apost '{"model":"m","max_tokens":9,"messages":['"$U"','"$AU"']}')
contains "$out" '`tool_use` ids were found without `tool_result` blocks' || fail "anthropic tool_use last: $out"

OA='{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"call_2","type":"function","function":{"name":"f","arguments":"{}"}}]}'
out=$(opost '{"model":"m","messages":['"$U"','"$OA"',{"role":"tool","tool_call_id":"call_1","content":"x"},{"role":"user","content":"and?"}]}' -w ' %{http_code}')
contains "$out" "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: call_2" &&
  contains "$out" '"param":"messages.[1].role"' && contains "$out" ' 400' || fail "openai missing tool message: $out"
out=$(opost '{"model":"m","messages":['"$U"',{"role":"tool","tool_call_id":"call_1","content":"x"}]}')
contains "$out" "messages with role 'tool' must be a response to a preceeding message with 'tool_calls'" ||
  fail "openai tool message without tool_calls: $out"
out=$(opost '{"model":"m","messages":['"$U"',{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":{}}}]},{"role":"tool","tool_call_id":"call_1","content":"x"}]}')
contains "$out" "Invalid type for 'messages[1].tool_calls[0].function.arguments': expected a string, but got an object instead." ||
  fail "openai object arguments: $out"

# A tool loop's steps are not repairs, and the sampling record shows the
# tools offered.
reset_stats
reply anthropic m >/dev/null
[ "$(stats repairs)" = 0 ] || fail "a tool step counted as a repair: $(stats)"
stats sampling | grep -q '"tools": \["get_weather", "now"\], "steps": 2' || fail "sampling: $(stats sampling)"
exit 0
