# pyserver.sh — starts one of the Python test servers of tests/lib for a
# script (sourced by server.sh and web.sh after common.sh, not by tests).
#
#     pyserver_start NAME SCRIPT [ARGS...]
#
# runs SCRIPT --port-file $tmp/NAME.port ARGS... with its stderr in
# $tmp/NAME.log, waits for the port (10 s at most) and sets pyserver_pid
# and pyserver_port; $PY is the interpreter. When the script exits the
# server is stopped (by its pid) and a Python traceback in its log fails
# the test whatever the test concluded.

# In a sanitizer build a report must not pass for the ordinary exit 1 that
# most of these tests expect.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:exitcode=87"
command -v python3 >/dev/null 2>&1 || fail "python3 is missing (./bootstrap --tests installs it)"
command -v curl >/dev/null 2>&1 || fail "curl is missing (./bootstrap --tests installs it)"
# The interpreter itself, not a wrapper script (pyenv shims cost ~0.1 s a call).
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "python3 does not run"

pyserver_start() {
  ps_name=$1
  ps_script=$2
  shift 2
  "$PY" "$ps_script" --port-file "$tmp/$ps_name.port" "$@" 2>"$tmp/$ps_name.log" &
  pyserver_pid=$!
  pyserver_stop_pid=$pyserver_pid
  pyserver_stop_name=$ps_name
  trap 'pyserver_stop' EXIT
  trap 'pyserver_stop; exit 1' INT TERM
  ps_i=0
  while [ ! -s "$tmp/$ps_name.port" ]; do
    ps_i=$((ps_i + 1))
    [ "$ps_i" -le 200 ] || fail "the $ps_name server did not start within 10 s: $(cat "$tmp/$ps_name.log")"
    kill -0 "$pyserver_pid" 2>/dev/null || fail "the $ps_name server died: $(cat "$tmp/$ps_name.log")"
    sleep 0.05
  done
  pyserver_port=$(cat "$tmp/$ps_name.port")
}

# The EXIT trap: keeps the script's exit code unless the server broke.
pyserver_stop() {
  ps_rc=$?
  kill "$pyserver_stop_pid" 2>/dev/null
  wait "$pyserver_stop_pid" 2>/dev/null
  if grep -q "Traceback" "$tmp/$pyserver_stop_name.log" 2>/dev/null; then
    echo "FAIL: the $pyserver_stop_name server failed:" >&2
    cat "$tmp/$pyserver_stop_name.log" >&2
    ps_rc=1
  fi
  rm -rf "$tmp"
  exit "$ps_rc"
}
