# `{ name:` after a capitalised name opens a variant's fields; after any
# other name it is a record where a block was expected, with the help
# that says so (not an error further on).
. "$TESTDIR/../lib/common.sh"
cat >"$tmp/a.weft" <<'W'
fn b(ok: bool) -> { a: int } { if ok { a: 1 } else { a: 2 } }
W
run "$WEFT" check --color=never "$tmp/a.weft"
expect_rc 1 "record after a condition"
expect_err "1:38: error[E0101]: unexpected record literal"
cat >"$tmp/b.weft" <<'W'
type Step = Search { query: string } | lower { text: string }
W
run "$WEFT" check --color=never "$tmp/b.weft"
expect_rc 1 "lower-case variant with fields"
expect_err "error[E0101]"
cat >"$tmp/c.weft" <<'W'
role Reviewer { model: "mock/m" }
fn main() -> string { ask Reviewer "hi" }
W
run "$WEFT" run --no-journal "$tmp/c.weft"
expect_rc 0 "a capitalised role"
exit 0
