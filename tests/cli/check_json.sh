# weft check --json prints one JSON document with every diagnostic.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

run "$WEFT" check --json errors.weft
expect_rc 1 "check --json with errors"
[ -z "$err" ] || fail "check --json should keep stderr empty: $err"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "one line of JSON expected"
case "$out" in
  '{"diagnostics":['*'],"errors":2,"warnings":'*'}') ;;
  *) fail "unexpected document shape: $out" ;;
esac
for key in '"code":"E0301"' '"code":"E0201"' '"severity":"error"' '"message":' \
           '"file":' '"line":3' '"line":4' '"column":' '"help":'; do
  expect_out "$key"
done

run "$WEFT" check --json hello.weft
expect_rc 0 "check --json clean"
[ "$out" = '{"diagnostics":[],"errors":0,"warnings":0,"omitted":0}' ] || fail "clean document: $out"

# Several files make one document whose counts add up.
run "$WEFT" check --json errors.weft hello.weft errors.weft
expect_rc 1 "check --json of three files"
expect_out '"errors":4'
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "one line of JSON expected for three files"
exit 0
