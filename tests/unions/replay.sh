# A run whose replies are tagged unions replays from its journal to the same
# result (the journal keeps the reply; replay converts it again).
. "$TESTDIR/../lib/common.sh"
cat >"$tmp/r.weft" <<'W'
role r { model: "mock/m" }
type Step = Search { query: string } | Answer { text: string } | Giveup {}
fn main() -> list[Step] {
  map(range(4), fn(i) => ask r "step {i}" -> Step)
}
W
run "$WEFT" run "$tmp/r.weft"
expect_rc 0 "run"
first=$out
contains "$first" '"type":"' || fail "no variants in $first"
run "$WEFT" replay 1 --check
expect_rc 0 "replay --check"
[ "$out" = "$first" ] || fail "replay gave $out, the run $first"
expect_err "matches run 1"
exit 0
