# web.sh — starts tests/lib/web_server.py for a std/http test script
# (sourced after nothing else: it sources common.sh itself).
#
#     . "$TESTDIR/../lib/web.sh"
#
# gives the helpers of common.sh, a web server on 127.0.0.1:$WPORT serving
# $WEB_ROOT (default: the script's data/; WEB_ROOT=tmp: $tmp/www, which
# the script may fill and change) under /files/, $WBASE
# (http://127.0.0.1:$WPORT), and
#   weblog                the requests the server saw, as JSON (/_log)
# The server is stopped (by its pid) when the script exits; a Python
# traceback in its log fails the test.
. "$TESTDIR/../lib/common.sh"

export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:exitcode=87"
command -v python3 >/dev/null 2>&1 || fail "python3 is missing (./bootstrap --tests installs it)"
command -v curl >/dev/null 2>&1 || fail "curl is missing (./bootstrap --tests installs it)"
WPY=$(python3 -c 'import sys; print(sys.executable)') || fail "python3 does not run"
if [ "${WEB_ROOT:-}" = tmp ]; then
  WEB_ROOT="$tmp/www"
  mkdir -p "$WEB_ROOT"
fi
"$WPY" "$TESTDIR/../lib/web_server.py" --port-file "$tmp/wport" --root "${WEB_ROOT:-$DATA}" \
  2>"$tmp/web.log" &
web_pid=$!
stop_web() {
  web_rc=$?
  kill "$web_pid" 2>/dev/null
  wait "$web_pid" 2>/dev/null
  if grep -q "Traceback" "$tmp/web.log" 2>/dev/null; then
    echo "FAIL: the web server failed:" >&2
    cat "$tmp/web.log" >&2
    web_rc=1
  fi
  rm -rf "$tmp"
  exit "$web_rc"
}
trap 'stop_web' EXIT
trap 'stop_web; exit 1' INT TERM
i=0
while [ ! -s "$tmp/wport" ]; do
  i=$((i + 1))
  [ "$i" -le 200 ] || fail "the web server did not start within 10 s: $(cat "$tmp/web.log")"
  kill -0 "$web_pid" 2>/dev/null || fail "the web server died: $(cat "$tmp/web.log")"
  sleep 0.05
done
WPORT=$(cat "$tmp/wport")
WBASE="http://127.0.0.1:$WPORT"
weblog() { curl -s "$WBASE/_log"; }
