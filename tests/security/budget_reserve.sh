# At admission every request reserves its estimated input (bytes / 4) and
# its max_tokens output on every enclosing budget; the reply settles it.
# A request that can never fit is refused before it is sent; one that fits
# only once calls in flight settle waits (so a budget is never exceeded by
# calls running at once); a call cancelled in flight is charged its whole
# reservation (cancelling and asking again is no way around a budget).
. "$TESTDIR/../lib/server.sh"

# 1. the default max_tokens (4096) cannot fit in 1000 tokens: nothing is sent
cat >"$tmp/big.weft" <<'EOF_W'
role r { model: "openai/gpt-test" }
fn main() -> string { ask r "hello" }
EOF_W
reset_stats
run "$WEFT" run "$tmp/big.weft" --budget-tokens 1000
expect_rc 1 "a reservation over the budget"
expect_err "budget exhausted: tokens 0/1000 (the next call reserves 4098: its estimated input and its max_tokens)"
[ "$(attempts)" = 0 ] || fail "a call that cannot fit was sent ($(attempts) requests)"
# the same in a budget block: its else answers, nothing is sent
cat >"$tmp/bigblock.weft" <<'EOF_W'
role r { model: "anthropic/claude-sonnet-4-5" }
fn main() -> string { budget { usd: 0.01 } { ask r "hello" } else { "too dear" } }
EOF_W
reset_stats
run "$WEFT" run "$tmp/bigblock.weft"
expect_rc 0 "a dollar reservation over a block's budget"
[ "$out" = '"too dear"' ] || fail "dollar reservation: $out"
[ "$(attempts)" = 0 ] || fail "a call whose price cannot fit was sent ($(attempts) requests)"

# 2. four asks at once, room for two reservations (102 tokens each) in
#    250: never more than two in flight, and all four are answered
cat >"$tmp/wait.weft" <<'EOF_W'
role r { model: "openai/slow-300", max_tokens: 100 }
fn main() -> list[string] {
  let t = fanout i in range(4) { ask r "item {i}" }
  barrier t
}
EOF_W
reset_stats
run "$WEFT" run "$tmp/wait.weft" --budget-tokens 250
expect_rc 0 "four asks that wait for reservations"
[ "$(attempts)" = 4 ] || fail "wait: $(attempts) requests, expected 4"
[ "$(stats max_in_flight)" -le 2 ] || fail "wait: $(stats max_in_flight) requests in flight at once, expected at most 2"
# the same under a dollar budget in a block
cat >"$tmp/waitusd.weft" <<'EOF_W'
role r { model: "openai/gpt-4o-mini+slow-300", max_tokens: 1000 }
fn main() -> list[string] {
  budget { usd: 0.0013 } {
    let t = fanout i in range(4) { ask r "item {i}" }
    barrier t
  }
}
EOF_W
reset_stats
run "$WEFT" run "$tmp/waitusd.weft"
expect_rc 0 "four asks that wait for dollar reservations"
[ "$(attempts)" = 4 ] || fail "waitusd: $(attempts) requests, expected 4"
[ "$(stats max_in_flight)" -le 2 ] || fail "waitusd: $(stats max_in_flight) in flight at once, expected at most 2"

# 3. cancelled in flight: `barrier first 1` cancels two stalled asks, each
#    charged 1 + 100; the next ask's 102 no longer fits in 320
cat >"$tmp/cancel.weft" <<'EOF_W'
role fast { model: "openai/quick", max_tokens: 100 }
role stuck { model: "openai/fault-stall", max_tokens: 100 }
fn main() -> string {
  let t = fanout i in range(3) {
    if i == 0 {
      sleep(300ms)
      ask fast "go"
    } else {
      ask stuck "w{i}"
    }
  }
  let firsts = barrier t first 1
  firsts[0] + ask fast "again"
}
EOF_W
reset_stats
run "$WEFT" run "$tmp/cancel.weft" --budget-tokens 320 --timeout 30s
expect_rc 1 "asking again after cancelling calls in flight"
expect_err "budget exhausted: tokens"
[ "$(attempts)" = 3 ] || fail "cancel: $(attempts) requests, expected 3 (the last ask is refused)"
run "$WEFT" run "$tmp/cancel.weft" --timeout 30s --json
expect_rc 0 "the same without a budget"
[ "$(jstat output_tokens)" -ge 200 ] || fail "cancelled calls were not charged: $(jstat output_tokens) output tokens"
exit 0
