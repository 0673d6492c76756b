# E0401 on a tagged union lists the variants no arm covers.
. "$TESTDIR/../lib/common.sh"
cat >"$tmp/m.weft" <<'W'
type Step = Search { query: string } | Answer { text: string } | Giveup {}
fn main() -> int {
  let s: Step = Giveup
  match s {
    Answer { text } => 1,
  }
}
W
run "$WEFT" check --color=never "$tmp/m.weft"
expect_rc 1 "non-exhaustive"
expect_err "not exhaustive: Search, Giveup not covered"
expect_err "add arms for Search, Giveup or a \`_\` arm"
run "$WEFT" check --color=never "$TESTDIR/build_errors.weft"
expect_err "missing field \`query\` in variant \`Search\`"
expect_err "Step is a tagged union: field \`text\` depends on the variant"
expect_err "unknown variant \`Serch\`"
exit 0
