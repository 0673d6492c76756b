# `weft check --cost` counts the asks inside a variant's fields (they used
# to make the analysis give up: "variant, which the cost analysis does not
# handle yet").
. "$TESTDIR/../lib/common.sh"
cat >"$tmp/c.weft" <<'W'
role r { model: "mock/m" }
type Step = Answer { text: string } | Giveup {}
fn main() -> Step {
  Answer { text: ask r "hi" }
}
W
run "$WEFT" check --cost "$tmp/c.weft"
expect_rc 0 "check --cost"
expect_out "main: at most 1 model call"
exit 0
