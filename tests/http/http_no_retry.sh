# Not retried: 400, 401, 404, 500 with x-should-retry: false, vLLM and
# llama.cpp error bodies, and (after a 200) a mid-stream error event or a
# truncated stream. Exactly one request; exit 1; the error carries the
# provider's own message. Both providers.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  for f in 400 401 404 500noretry vllm vllm401 llamacpp midstream truncate; do
    case "$p/$f" in
      */400) msg="max_tokens: Field required" ;;
      anthropic/401) msg="invalid x-api-key" ;;
      openai/401) msg="Incorrect API key provided" ;;
      anthropic/404) msg="model: fault-404" ;;
      openai/404) msg="does not exist" ;;
      */500noretry) msg="do not retry" ;;
      */vllm) msg="maximum context length" ;;
      */vllm401) msg="Unauthorized" ;;
      */llamacpp) msg="exceeds the available context size" ;;
      anthropic/midstream) msg="Overloaded" ;;
      openai/midstream) msg="The server had an error" ;;
      */truncate) msg="" ;;
    esac
    ask ask_text "$p" "fault-$f"
    expect_rc 1 "$p $f"
    expect_no_out "$p $f"
    [ "$(attempts)" = 1 ] || fail "$p $f: $(attempts) requests, expected no retry"
    [ -z "$msg" ] || expect_err "$msg"
    case $f in
      midstream | truncate) ;;
      *) expect_err "$(echo "$f" | tr -dc 0-9 | cut -c1-3)" ;;  # the HTTP status
    esac
  done
done
exit 0
