# Hostile tool calls in model replies (docs/security.md, "Tool calls in
# model replies"): megabytes of arguments, a call without an id, arguments
# that are not a JSON object, a call to a tool nobody offered — streamed
# and not, in both wire formats, from the test server. Each is a clear
# error or a call the loop can answer as an error; never unbounded memory.
# The parsers are driven through the unit binary (tests/unit/test_providers
# --parse), the request through its golden tool body (--body).
. "$TESTDIR/../lib/server.sh"

UNIT="$(dirname "$WEFT")/tests/unit/test_providers"
[ -x "$UNIT" ] || fail "no $UNIT (build the unit tests first)"

post() {  # post PATH BODY [HEADER...]
  p=$1; b=$2; shift 2
  curl -s -N "$BASE$p" -H 'content-type: application/json' "$@" -d "$b"
}
reply() {  # reply PROVIDER MODEL [stream]: what the parser makes of the reply
  "$UNIT" --body "$1" ${3:-} | sed "s/\"model\":\"m-1\"/\"model\":\"$2\"/" >"$tmp/body.json"
  if [ "$1" = anthropic ]; then
    post /v1/messages "$(cat "$tmp/body.json")" -H "x-api-key: $ANTHROPIC_API_KEY" -H "anthropic-version: 2023-06-01"
  else
    post /v1/chat/completions "$(cat "$tmp/body.json")" -H "authorization: Bearer $OPENAI_API_KEY"
  fi >"$tmp/reply"
  "$UNIT" --parse "$1" "$tmp/reply"
}

# The golden request has made two steps; tools-3 makes the server call
# again, and the fault spoils the first call of that step.
for p in anthropic openai; do
  for s in "" stream; do
    # The reproducer: 2 MB of arguments (streamed: in 64 KB fragments) is
    # refused at 512 KiB with a message, not accumulated.
    out=$(reply $p fault-toolhuge+tools-3 $s)
    [ "$out" = "error: the reply's tool call arguments are larger than 524288 bytes" ] ||
      fail "$p $s: 2 MB of arguments: $out"
    # A call without an id could not be answered: the reply is invalid.
    out=$(reply $p fault-toolnoid+tools-3 $s)
    [ "$out" = "error: tool call 1 of the reply has no id" ] || fail "$p $s: call without id: $out"
    # Arguments that are not a JSON object: the call is kept with input
    # NULL ("-") and the text as sent, for the loop to answer as an error.
    # (A non-streamed Anthropic input is JSON whatever it holds: the cut
    # text arrives as a string, whose JSON is the raw text.)
    out=$(reply $p fault-toolbadjson+tools-3 $s)
    { contains "$out" '|get_weather|-|{"path": ' || contains "$out" '|get_weather|-|"{\"path\": "'; } ||
      fail "$p $s: cut JSON arguments: $out"
    contains "$out" '|now|{}|-' || fail "$p $s: the other call of the turn is kept: $out"
    out=$(reply $p fault-toolarray+tools-3 $s)
    { contains "$out" '|get_weather|-|[1, 2]' || contains "$out" '|get_weather|-|[1,2]'; } ||
      fail "$p $s: array arguments: $out"
    # A tool nobody offered is passed on by name: the loop refuses it.
    out=$(reply $p fault-toolunknown+tools-3 $s)
    contains "$out" '|no_such_tool|{"location":"text"}|-' || fail "$p $s: unknown tool: $out"
  done
done
exit 0
