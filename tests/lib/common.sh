# common.sh — shared helpers for the CLI-script tests (sourced, not a test
# itself): a script in tests/FEATURE/ starts with
#     . "$TESTDIR/../lib/common.sh"
# The runner sets WEFT (the binary) and TESTDIR (the script's folder);
# DATA is that folder's data/. Scripts write only into their own temporary
# directory, $tmp, which is removed on exit.
set -u
: "${WEFT:?WEFT must name the weft binary}"
: "${TESTDIR:?TESTDIR must name the test script's folder}"
DATA="$TESTDIR/data"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-cli.XXXXXX") || exit 1
# every `weft run` is journaled: this script's runs go to a journal of its own
export WEFT_JOURNAL="$tmp/journal.db"
trap 'rm -rf "$tmp"' EXIT
trap 'rm -rf "$tmp"; exit 1' INT TERM

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# run CMD ARGS...: runs a command, keeping its stdout in $out, its stderr in
# $err and its exit code in $rc.
run() {
  "$@" >"$tmp/.out" 2>"$tmp/.err" </dev/null
  rc=$?
  out=$(cat "$tmp/.out")
  err=$(cat "$tmp/.err")
}

contains() {
  case "$1" in
    *"$2"*) return 0 ;;
  esac
  return 1
}

expect_rc() {
  [ "$rc" = "$1" ] || fail "$2: exit code $rc, expected $1; stderr: $err"
}
expect_out() {
  contains "$out" "$1" || fail "stdout lacks '$1'; stdout: $out; stderr: $err"
}
expect_err() {
  contains "$err" "$1" || fail "stderr lacks '$1'; stderr: $err"
}
expect_no_out() {
  [ -z "$out" ] || fail "$1: unexpected stdout: $out"
}
# A crash (signal) shows as an exit code above 128.
expect_no_crash() {
  [ "$rc" -lt 128 ] || fail "$1: crashed with exit code $rc"
}
