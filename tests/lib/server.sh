# server.sh — starts the local LLM test server for a test script (sourced).
#
# A script such as tests/http/http_keys.sh does
#     . "$TESTDIR/../lib/server.sh"
# and then has: the helpers of tests/lib/common.sh (run, fail,
# expect_rc, ...), a running tests/lib/llm_server.py on a free port,
# ANTHROPIC_BASE_URL / OPENAI_BASE_URL pointing at it, dummy API keys, and
#   stats [FIELD]        GET /_stats (the whole JSON, or one top-level field)
#   attempts, repairs    requests / re-asks the server saw since the reset
#   reset_stats          POST /_reset
#   prog NAME PROVIDER MODEL   copies tests/http/data/NAME.weft to
#                        $tmp/NAME.weft with its role's model replaced by
#                        PROVIDER/MODEL; prints the path
#   now_ms               monotonic-enough wall clock in ms
# The server is killed (by its pid) when the script exits. python3 is
# installed by ./bootstrap: its absence is a failure, not a skip.
. "$TESTDIR/../lib/common.sh"

HTTP_DATA="$TESTDIR/../http/data"
. "$TESTDIR/../lib/pyserver.sh"
SERVER="$TESTDIR/../lib/llm_server.py"
pyserver_start server "$SERVER" --port 0
srv_pid=$pyserver_pid
stop_server() { pyserver_stop; }
PORT=$pyserver_port
BASE="http://127.0.0.1:$PORT"
export ANTHROPIC_BASE_URL="$BASE" OPENAI_BASE_URL="$BASE"
export ANTHROPIC_API_KEY=sk-ant-test-SECRET123456789
export OPENAI_API_KEY=sk-test-SECRET987654321

stats() {
  curl -s "$BASE/_stats${1:+/$1}"
}
reset_stats() {
  curl -s -X POST "$BASE/_reset" >/dev/null || fail "cannot reset the test server"
}

prog() {
  sed "s#model: \"[^\"]*\"#model: \"$2/$3\"#" "$HTTP_DATA/$1.weft" >"$tmp/$1.weft" || fail "no program $1"
  echo "$tmp/$1.weft"
}

now_ms() {
  "$PY" -c 'import time; print(int(time.monotonic() * 1000))'
}

# attempts: how many requests the server saw since the last reset_stats.
attempts() {
  stats requests
}
# repairs: requests that carried an earlier assistant turn (re-asks).
repairs() {
  stats repairs
}
# ask PROGRAM PROVIDER MODEL [weft run flags...]: resets the statistics and
# runs the program with its role remapped; leaves $out $err $rc.
ask() {
  a_prog=$(prog "$1" "$2" "$3") || exit 1
  shift 3
  reset_stats
  run "$WEFT" run "$a_prog" "$@"
}
# same_json A B: A and B are equal JSON values (key order ignored).
same_json() {
  "$PY" -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1]) == json.loads(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null
}
# no_retries_sent: every request since the reset had x-stainless-retry-count 0.
no_retries_sent() {
  [ "$(stats retries)" = 0 ]
}
# jstat NAME: field NAME of the "stats" object in $out (a `weft run --json` run).
jstat() {
  printf %s "$out" | "$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["stats"][sys.argv[1]]))' "$1"
}
