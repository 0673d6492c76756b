# A model missing from the price table would cost $0 and never end a
# dollar budget. So when any dollar budget applies (--budget-usd, or a
# `budget { usd: … }` anywhere in the program) every role's model (after
# --model and --provider) must have a price: otherwise the run is refused
# before anything is sent (exit 2, the server sees 0 requests), with a
# message naming the role, the model and --prices. --prices FILE prices
# it; the mock provider is priced at 0 and needs nothing.
. "$TESTDIR/../lib/server.sh"

cat >"$tmp/one.weft" <<'EOF_W'
role r { model: "openai/unpriced-model-x", max_tokens: 50 }
fn main() -> string { ask r "hello" }
EOF_W

# 1. --budget-usd with an unpriced model: refused before any request
reset_stats
run "$WEFT" run "$tmp/one.weft" --budget-usd 1
expect_rc 2 "unpriced model under --budget-usd"
expect_err "role r: model openai/unpriced-model-x has no price"
expect_err "--budget-usd"
expect_err "--prices FILE"
expect_no_out "unpriced model under --budget-usd"
[ "$(attempts)" = 0 ] || fail "an unpriced model under --budget-usd sent $(attempts) requests"

# 2. a dollar budget in the program, none on the command line; the ask is
#    even outside the block: the whole run is refused
cat >"$tmp/block.weft" <<'EOF_W'
role r { model: "anthropic/claude-unknown-9", max_tokens: 50 }
role cheap { model: "openai/gpt-4o-mini", max_tokens: 50 }
fn main() -> string {
  let a = ask r "outside"
  let b = budget { usd: 0.5 } { ask cheap "inside" } else { "over" }
  a + b
}
EOF_W
reset_stats
run "$WEFT" run "$tmp/block.weft"
expect_rc 2 "unpriced model under a program budget { usd }"
expect_err "role r: model anthropic/claude-unknown-9 has no price and the program's budget { usd: ... } limits dollars"
[ "$(attempts)" = 0 ] || fail "an unpriced model under budget { usd } sent $(attempts) requests"

# 3. remapping is what counts: a priced model remapped to an unpriced one
cat >"$tmp/priced.weft" <<'EOF_W'
role r { model: "openai/gpt-4o-mini", max_tokens: 50 }
fn main() -> string { ask r "hello" }
EOF_W
reset_stats
run "$WEFT" run "$tmp/priced.weft" --budget-usd 1 --model r=openai/local-llama
expect_rc 2 "remapped to an unpriced model"
expect_err "role r: model openai/local-llama has no price"
[ "$(attempts)" = 0 ] || fail "the remapped unpriced model sent $(attempts) requests"
# ... while the priced model runs under the same budget
reset_stats
run "$WEFT" run "$tmp/priced.weft" --budget-usd 1
expect_rc 0 "a priced model under --budget-usd"
[ "$(attempts)" = 1 ] || fail "the priced model sent $(attempts) requests"

# 4. --prices prices it: the run goes ahead and is charged by that price
printf '{"openai/unpriced-model": {"input": 1000, "output": 2000}}' >"$tmp/prices.json"
reset_stats
run "$WEFT" run "$tmp/one.weft" --budget-usd 1 --prices "$tmp/prices.json" --json
expect_rc 0 "priced by --prices"
[ "$(attempts)" = 1 ] || fail "priced by --prices: $(attempts) requests"
cost=$(jstat cost_usd)
"$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)' "$cost" || fail "priced by --prices, but cost $cost"
[ "$(jstat unpriced_models)" = "[]" ] || fail "still unpriced: $(jstat unpriced_models)"

# 5. the mock provider is priced at 0: a dollar budget is no obstacle
reset_stats
run "$WEFT" run "$tmp/one.weft" --budget-usd 0.01 --provider mock
expect_rc 0 "the mock under --budget-usd"
run "$WEFT" run "$tmp/block.weft" --provider mock
expect_rc 0 "the mock under budget { usd }"
[ "$(attempts)" = 0 ] || fail "the mock sent $(attempts) requests"

# 6. without any dollar budget an unpriced model still runs (cost 0, listed)
reset_stats
run "$WEFT" run "$tmp/one.weft" --budget-calls 5 --json
expect_rc 0 "an unpriced model without a dollar budget"
[ "$(jstat unpriced_models)" = '["openai/unpriced-model-x"]' ] || fail "unpriced list: $(jstat unpriced_models)"
exit 0
