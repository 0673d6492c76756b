# weft --version prints the version and the bytecode format.
. "$TESTDIR/../lib/common.sh"

run "$WEFT" --version
expect_rc 0 "--version"
expect_out "weft "
expect_out "bytecode format "
first=$(printf '%s\n' "$out" | head -n 1)
case "$first" in
  "weft "[0-9]*) ;;
  *) fail "version line should start with 'weft N': $first" ;;
esac
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "version should be one line"
exit 0
