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
# In a sanitizer build a report must not pass for the ordinary exit 1 that
# most of these tests expect.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:exitcode=87"
SERVER="$TESTDIR/../lib/llm_server.py"
command -v python3 >/dev/null 2>&1 || fail "python3 is missing (./bootstrap --tests installs it)"
command -v curl >/dev/null 2>&1 || fail "curl is missing (./bootstrap --tests installs it)"
# The interpreter itself, not a wrapper script (pyenv shims cost ~0.1 s a call).
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "python3 does not run"

"$PY" "$SERVER" --port 0 --port-file "$tmp/port" 2>"$tmp/server.log" &
srv_pid=$!
# On exit: stop the server, and fail the test if the server itself broke
# (a Python traceback in its log), whatever the test concluded.
stop_server() {
  srv_rc=$?
  kill "$srv_pid" 2>/dev/null
  wait "$srv_pid" 2>/dev/null
  if grep -q "Traceback" "$tmp/server.log" 2>/dev/null; then
    echo "FAIL: the test server failed:" >&2
    cat "$tmp/server.log" >&2
    srv_rc=1
  fi
  rm -rf "$tmp"
  exit "$srv_rc"
}
trap 'stop_server' EXIT
trap 'stop_server; exit 1' INT TERM

i=0
while [ ! -s "$tmp/port" ]; do
  i=$((i + 1))
  [ "$i" -le 200 ] || fail "the test server did not start within 10 s: $(cat "$tmp/server.log")"
  kill -0 "$srv_pid" 2>/dev/null || fail "the test server died: $(cat "$tmp/server.log")"
  sleep 0.05
done
PORT=$(cat "$tmp/port")
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
