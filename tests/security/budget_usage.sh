# A reply that reports no usage, negative usage or absurd usage must not
# be free: the attempt is charged its reservation (estimated input +
# max_tokens output, and their price), so a token or dollar budget still
# trips. Each ask here reserves 2 + 100 tokens ("hello" is 5 bytes); after
# one reply without a usable report 102 are used, and the second ask's 102
# no longer fit in 150: it is refused before it is sent. With an honest
# report the same program makes both calls.
. "$TESTDIR/../lib/server.sh"

mkprog() {
  cat >"$tmp/u.weft" <<EOF_W
role r { model: "$1", max_tokens: 100 }
fn main() -> string {
  let a = ask r "hello"
  let b = ask r "again"
  a + b
}
EOF_W
}

for p in openai anthropic; do
  for f in nousage negusage hugeusage; do
    for s in "" --no-stream; do
      what="$p $f ${s:-stream}"
      mkprog "$p/fault-$f"
      reset_stats
      run "$WEFT" run "$tmp/u.weft" --budget-tokens 150 $s
      expect_rc 1 "$what"
      expect_no_crash "$what"
      expect_err "budget exhausted: tokens 102/150 (the next call reserves 102"
      [ "$(attempts)" = 1 ] || fail "$what: $(attempts) requests, expected 1 (the second is refused)"
      # the run's totals show what was charged: the reservation
      run "$WEFT" run "$tmp/u.weft" --json $s
      expect_rc 0 "$what without a budget"
      [ "$(jstat input_tokens)/$(jstat output_tokens)" = 4/200 ] ||
        fail "$what: charged $(jstat input_tokens) in / $(jstat output_tokens) out, expected 4/200"
    done
  done
  # an honest report is charged as reported: both asks fit
  mkprog "$p/honest"
  reset_stats
  run "$WEFT" run "$tmp/u.weft" --budget-tokens 150
  expect_rc 0 "$p honest usage"
  [ "$(attempts)" = 2 ] || fail "$p honest usage: $(attempts) requests"
done

# dollars: a priced model whose replies report no usage is charged the
# reservation's price ($0.0000603 here), so --budget-usd trips on the
# second ask instead of never
mkprog "openai/gpt-4o-mini+fault-nousage"
reset_stats
run "$WEFT" run "$tmp/u.weft" --budget-usd 0.0001
expect_rc 1 "no usage under --budget-usd"
expect_err "budget exhausted: usd \$0.0001/\$0.0001 (the next call reserves"
[ "$(attempts)" = 1 ] || fail "no usage under --budget-usd: $(attempts) requests"
# and inside a program's budget block, where the else takes over
cat >"$tmp/block.weft" <<'EOF_W'
role r { model: "openai/gpt-4o-mini+fault-negusage", max_tokens: 100 }
fn main() -> string {
  budget { usd: 0.0001 } {
    let a = ask r "hello"
    let b = ask r "again"
    a + b
  } else {
    "over budget"
  }
}
EOF_W
reset_stats
run "$WEFT" run "$tmp/block.weft"
expect_rc 0 "negative usage in a budget block"
[ "$out" = '"over budget"' ] || fail "negative usage in a budget block: $out"
[ "$(attempts)" = 1 ] || fail "negative usage in a budget block: $(attempts) requests"
exit 0
