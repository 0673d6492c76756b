# The operator's --retries, --repairs and --timeout (or their defaults: 2,
# 2, 10m) are ceilings over a role's own settings, which can only lower
# them; and every request (first attempt, retry, repair) counts against
# --budget-calls. A role asking for 100 retries and 100 repairs cannot
# turn one call into 101 requests.
. "$TESTDIR/../lib/server.sh"

mkprog() {
  cat >"$tmp/c.weft" <<EOF_W
type Item = { name: string, n: int }
role r { model: "$1", retries: 100, repairs: 100, timeout: 1h, max_tokens: 50 }
fn main() -> Item { ask r "give me an item" -> Item }
EOF_W
}

for p in openai anthropic; do
  # a reply that never fits: --repairs 0 --retries 0 --budget-calls 1 -> 1 request
  mkprog "$p/fault-badschema"
  reset_stats
  run "$WEFT" run "$tmp/c.weft" --repairs 0 --retries 0 --budget-calls 1
  expect_rc 1 "$p badschema, --repairs 0"
  expect_no_crash "$p badschema, --repairs 0"
  expect_err "after 1 attempt"
  [ "$(attempts)" = 1 ] || fail "$p badschema: $(attempts) requests, expected exactly 1"
  # --budget-calls alone: the budget stops the repairs at 1 request
  reset_stats
  run "$WEFT" run "$tmp/c.weft" --budget-calls 1
  expect_rc 1 "$p badschema, --budget-calls 1"
  expect_err "budget exhausted: calls 1/1"
  [ "$(attempts)" = 1 ] || fail "$p badschema under --budget-calls 1: $(attempts) requests"
  # no flags: the default ceiling, 2 repairs
  reset_stats
  run "$WEFT" run "$tmp/c.weft"
  expect_rc 1 "$p badschema, default ceiling"
  [ "$(attempts)" = 3 ] || fail "$p badschema, default ceiling: $(attempts) requests, expected 3"
  # a higher flag is a higher ceiling
  reset_stats
  run "$WEFT" run "$tmp/c.weft" --repairs 4
  [ "$(attempts)" = 5 ] || fail "$p badschema, --repairs 4: $(attempts) requests, expected 5"

  # a server that always fails with 503: retries are capped the same way
  mkprog "$p/fault-503"
  reset_stats
  run "$WEFT" run "$tmp/c.weft" --retries 0 --budget-calls 1
  expect_rc 1 "$p 503, --retries 0"
  [ "$(attempts)" = 1 ] || fail "$p 503, --retries 0: $(attempts) requests, expected 1"
  reset_stats
  run "$WEFT" run "$tmp/c.weft" --budget-calls 1
  expect_rc 1 "$p 503, --budget-calls 1"
  expect_err "budget exhausted: calls 1/1"
  [ "$(attempts)" = 1 ] || fail "$p 503 under --budget-calls 1: $(attempts) requests, expected 1"
  reset_stats
  run "$WEFT" run "$tmp/c.weft" --retries 1 --json
  expect_rc 1 "$p 503, --retries 1"
  [ "$(attempts)" = 2 ] || fail "$p 503, --retries 1: $(attempts) requests, expected 2"
  [ "$(jstat calls)/$(jstat attempts)/$(jstat retries)" = 1/2/1 ] ||
    fail "$p 503: stats calls/attempts/retries $(jstat calls)/$(jstat attempts)/$(jstat retries)"
done

# --timeout caps the role's `timeout: 1h`: a stalled server is given up
# after 300 ms, not an hour
mkprog "openai/fault-stall"
reset_stats
t0=$(now_ms)
run "$WEFT" run "$tmp/c.weft" --timeout 300ms --retries 0
t1=$(now_ms)
expect_rc 1 "stall with --timeout 300ms"
[ $((t1 - t0)) -lt 5000 ] || fail "--timeout 300ms did not cap the role's 1h: $((t1 - t0)) ms"
[ "$(attempts)" = 1 ] || fail "stall: $(attempts) requests"

# a role's lower setting still wins over the flag
cat >"$tmp/low.weft" <<'EOF_W'
type Item = { name: string, n: int }
role r { model: "openai/fault-badschema", repairs: 1, max_tokens: 50 }
fn main() -> Item { ask r "give me an item" -> Item }
EOF_W
reset_stats
run "$WEFT" run "$tmp/low.weft" --repairs 5
expect_rc 1 "role repairs 1 under --repairs 5"
[ "$(attempts)" = 2 ] || fail "role repairs 1 under --repairs 5: $(attempts) requests, expected 2"
exit 0
