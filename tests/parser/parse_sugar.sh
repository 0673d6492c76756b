# The parser builds syntax only: `verify` and `tournament` come out of it
# as written (their parts, no call of a prelude function), and what the
# parts mean (a quorum in range, a known format, `-> ranking` allowed) is
# the compiler's rule, reported by `weft check` with its own code.
# weft_parse (tests/tools) is built by `make check` next to the weft binary.
. "$TESTDIR/../lib/common.sh"
PARSE="$(dirname "$WEFT")/tests/tools/weft_parse"
[ -x "$PARSE" ] || fail "$PARSE is missing (make check builds it)"

cat >"$tmp/sugar.weft" <<'EOF'
role a { provider: "mock", model: "m" }
role b { provider: "mock", model: "m" }
fn main() {
  print(verify "x" by [a, b] quorum 2 with { evidence: "e" })
  print(tournament ["p", "q"] by a on "c" swiss 2 -> ranking)
}
EOF
run "$PARSE" "$tmp/sugar.weft"
[ "$rc" = 0 ] || fail "weft_parse of a valid program: exit $rc: $err"
contains "$out" "(verify" || fail "no verify node in the dump: $out"
contains "$out" "(tournament" || fail "no tournament node in the dump: $out"
for lowered in verify_prompt verdict_quorum tournament_swiss judge_prompt __criterion lowered; do
  ! contains "$out" "$lowered" || fail "the parser lowered the construct ($lowered): $out"
done

# meaning, not syntax: the parser accepts these, the compiler refuses them
cat >"$tmp/rules.weft" <<'EOF'
role a { provider: "mock", model: "m" }
role b { provider: "mock", model: "m" }
fn main() {
  print(verify "x" by [a, b] quorum 3 with { proof: "e" })
  print(tournament ["p", "q"] by a on "c" knockout)
  print(tournament ["p", "q"] by a on "c" -> ranking)
}
EOF
run "$PARSE" "$tmp/rules.weft"
[ "$rc" = 0 ] || fail "weft_parse reported a rule that is not syntax: exit $rc: $err"
run "$WEFT" check --color=never "$tmp/rules.weft"
[ "$rc" = 1 ] || fail "weft check accepted broken constructs: exit $rc"
for want in "rules.weft:4:37: error[E0617]: quorum 3 is out of range for 2 verifiers" \
            "rules.weft:4:46: error[E0206]: verify has no part \`proof\`" \
            "rules.weft:5:43: error[E0619]: unknown tournament format \`knockout\`" \
            "rules.weft:6:46: error[E0619]: a bracket finds only the winner; it cannot give a ranking"; do
  contains "$err" "$want" || fail "missing: $want; got: $err"
done
exit 0
