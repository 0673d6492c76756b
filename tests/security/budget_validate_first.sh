# An ask is validated (provider, reply schema, API key) before any budget
# is touched: a call that never leaves the process must not count. Here a
# failing ask is tolerated and then one mock ask runs under a budget of 1
# call: it must be admitted, and the run's summary and the budget agree
# (1 call).
. "$TESTDIR/../lib/server.sh"

# 1. the API key is missing
cat >"$tmp/key.weft" <<'EOF_W'
role remote { model: "openai/gpt-4o-mini" }
role local { model: "mock/m" }
fn main() -> string {
  let t = fanout i in range(1) { ask remote "needs a key {i}" }
  let _j = barrier t tolerate 1
  ask local "offline"
}
EOF_W
reset_stats
run env -u OPENAI_API_KEY "$WEFT" run "$tmp/key.weft" --budget-calls 1
expect_rc 0 "a keyless ask, then a mock ask under --budget-calls 1"
expect_out "mock reply #"
expect_err "weft: 1 call (0 failed)"
[ "$(attempts)" = 0 ] || fail "the keyless ask was sent"
run env -u OPENAI_API_KEY "$WEFT" run "$tmp/key.weft" --budget-calls 1 --json
[ "$(jstat calls)/$(jstat attempts)" = 1/1 ] || fail "stats: $(jstat calls) calls, $(jstat attempts) attempts"

# 2. the reply type has no schema the provider accepts (OpenAI strict mode
#    cannot express maps); the key is set, and nothing is sent
cat >"$tmp/schema.weft" <<'EOF_W'
role remote { model: "openai/gpt-4o-mini" }
role local { model: "mock/m" }
fn main() -> string {
  let t = fanout i in range(2) { ask remote "a map {i}" -> map[int] }
  let _j = barrier t tolerate 2
  ask local "offline"
}
EOF_W
reset_stats
run "$WEFT" run "$tmp/schema.weft" --budget-calls 1
expect_rc 0 "two unaskable types, then a mock ask under --budget-calls 1"
expect_out "mock reply #"
[ "$(attempts)" = 0 ] || fail "an unaskable type was sent"

# 3. the same inside a program's budget block: its one call is the mock's
cat >"$tmp/block.weft" <<'EOF_W'
role remote { model: "anthropic/claude-sonnet-4-5" }
role local { model: "mock/m" }
fn main() -> string {
  budget { calls: 1 } {
    let t = fanout i in range(3) { ask remote "needs a key {i}" }
    let _j = barrier t tolerate 3
    ask local "offline"
  } else {
    "refused"
  }
}
EOF_W
run env -u ANTHROPIC_API_KEY "$WEFT" run "$tmp/block.weft"
expect_rc 0 "keyless asks in a budget block"
expect_out "mock reply #"

# and the budget still holds: a second mock ask is refused
cat >"$tmp/two.weft" <<'EOF_W'
role remote { model: "openai/gpt-4o-mini" }
role local { model: "mock/m" }
fn main() -> string {
  let t = fanout i in range(1) { ask remote "needs a key {i}" }
  let _j = barrier t tolerate 1
  let a = ask local "offline"
  a + ask local "one too many"
}
EOF_W
run env -u OPENAI_API_KEY "$WEFT" run "$tmp/two.weft" --budget-calls 1
expect_rc 1 "a second mock ask over --budget-calls 1"
expect_err "budget exhausted: calls 1/1"
exit 0
