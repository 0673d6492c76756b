# A bound the provider was only told in words is still enforced: the test
# server answers from the schema (1 for an integer, "text" for a string, two
# items for a list), which a description cannot move, so a range that
# excludes that answer makes every reply invalid. The reproducer: Anthropic
# with int(5..10) (its schema has no `minimum`); the variants: a string's
# length (Anthropic, and OpenAI, whose strict mode takes no minLength) and a
# list's length (Anthropic). Each ask fails after its repairs, quoting the
# path, and no value outside its range reaches the program.
. "$TESTDIR/../lib/server.sh"

# refused PROVIDER FIELD-TYPE WANT-ERROR
refused() {
  cat >"$tmp/p.weft" <<EOF_W
role r { model: "$1/gpt-ok" }
type T = { v: $2 }
fn main() -> T { ask r "Answer" -> T }
EOF_W
  reset_stats
  run "$WEFT" run "$tmp/p.weft" --no-journal --no-stream
  expect_rc 1 "$1 $2"
  expect_err "$3"
  [ -z "$out" ] || fail "$1 $2: a value reached the program: $out"
  [ "$(stats repairs)" -ge 1 ] || fail "$1 $2: no repair was asked for"
}
refused anthropic 'int(5..10)' '$.v: expected int from 5 to 10, got 1'
refused anthropic 'string(5..)' '$.v: expected string of at least 5 characters, got 4'
refused openai 'string(5..9)' '$.v: expected string of 5 to 9 characters, got 4'
refused anthropic 'list[int](3..)' '$.v: expected list[int] of at least 3 items, got 2'
exit 0
