# weft check --cost: JSON output, errors, usage.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

run "$WEFT" check --cost --json asks.weft
expect_rc 0 "json"
[ "$out" = '{"diagnostics":[],"errors":0,"warnings":0,"omitted":0,"calls":{"formula":"1 + 2*len(files)","bounded":true,"reason":null},"output_tokens":{"formula":"1000 + 8192*len(files)","bounded":true,"reason":null}}' ] ||
  fail "json: $out"

run "$WEFT" check --json --cost model_list.weft
expect_rc 0 "json unbounded"
expect_out '"calls":{"formula":null,"bounded":false,"reason":"fan-out over a model-produced list has no cap at model_list.weft:6","fix":"cap the list before going over it'

run "$WEFT" check --cost --json overflow.weft
expect_out '"calls":{"formula":"more than 9.2e18","bounded":false,"reason":"more than 9.2e18"}'

# a program with errors: diagnostics, no bound, exit 1
run "$WEFT" check --cost errors.weft
expect_rc 1 "errors"
expect_no_out "errors"
expect_err "error[E0301]"

run "$WEFT" check --cost asks.weft none.weft
expect_rc 2 "two files"
expect_err "--cost takes exactly one FILE"

# without --cost, check prints nothing on success
run "$WEFT" check asks.weft
expect_rc 0 "plain check"
expect_no_out "plain check"
