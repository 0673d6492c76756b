# The rewritten tasks (3, 6, 9, 13) get replies that break a constraint or
# name a wrong variant once each: the run still gives its expected result,
# and the stats count one repair per broken reply — so the bound or the
# variant was checked, not waved through.
. "$TESTDIR/../lib/common.sh"

# repaired TASK SCRIPT N [ARGS...]: TASK under SCRIPT made N repairs
repaired() {
  _t=$1 _s=$2 _n=$3
  shift 3
  run "$WEFT" run --quiet --json --mock-script "$DATA/$_s" "$@" "$TESTDIR/$_t"
  expect_rc 0 "$_t"
  contains "$out" "\"repairs\":$_n," || fail "$_t: expected $_n repairs: $out"
}

repaired 03_names_tournament.weft 03_names.json 1       # a name over 24 characters
repaired 06_invoice_check.weft 06_invoice.json 4 --repairs 4   # qty 0, price < 0, date "2 Nov", no lines
repaired 09_first_three_vote.weft 09_vote.json 1        # "maybe" is not an Answer
repaired 13_agent_steps.weft 13_agent.json 2            # a Lookup variant; an Answer with a query

# with repairs off, each broken reply fails its ask with the reason; task 6
# catches the failure with `try` and returns it as its error
run "$WEFT" run --quiet --mock-script "$DATA/06_invoice.json" --repairs 0 "$TESTDIR/06_invoice_check.weft"
expect_rc 0 "06 without repairs"
contains "$out" '"invoice":null,"error":"error: ask extractor: reply does not match Invoice after 1 attempt: $.lines[0].qty: expected int from 1 to 1000, got 0"' ||
  fail "06 without repairs: $out"
run "$WEFT" run --quiet --mock-script "$DATA/13_agent.json" --repairs 0 "$TESTDIR/13_agent_steps.weft"
[ "$rc" != 0 ] || fail "13 without repairs: succeeded"
contains "$err" "expected a variant of Step" || fail "13 without repairs: $err"
