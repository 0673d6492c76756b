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

. "$TESTDIR/../lib/pyserver.sh"
WPY=$PY
if [ "${WEB_ROOT:-}" = tmp ]; then
  WEB_ROOT="$tmp/www"
  mkdir -p "$WEB_ROOT"
fi
pyserver_start web "$TESTDIR/../lib/web_server.py" --root "${WEB_ROOT:-$DATA}"
web_pid=$pyserver_pid
WPORT=$pyserver_port
WBASE="http://127.0.0.1:$WPORT"
weblog() { curl -s "$WBASE/_log"; }
