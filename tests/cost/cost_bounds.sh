# weft check --cost: static bounds on model calls and output tokens.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

cost() { # cost FILE EXPECTED-LINE
  run "$WEFT" check --cost "$1"
  expect_rc 0 "$1"
  [ "$out" = "$2" ] || fail "$1: got '$out', expected '$2'"
}

# an ask is 1 call (text) or 1 + repairs (typed); max_tokens per call; fan-out multiplies
cost asks.weft "main: at most 1 + 2*len(files) model calls, at most 1000 + 8192*len(files) output tokens"
# loop max 3, loop max n (an int input), if and match take the larger branch
cost loops.weft "main: at most 6 + n model calls, at most 60 + 10*n output tokens"
# fan-out x for (a product), a callee analysed with its arguments, map/filter with lambdas
cost nested.weft "main: at most 3 + len(files) + len(files)*len(rules) model calls, at most 300 + 100*len(files) + 100*len(files)*len(rules) output tokens"
# verify with 3 roles; bracket 2(n-1), round_robin over 4 = 12, swiss 3 = 3n
cost sugar.weft "main: at most 14 + 5*len(names) model calls, at most 4406 + 5*len(names) output tokens"
cost none.weft "main: at most 0 model calls, at most 0 output tokens"
# builtins passed as values (map(xs, trim)) are lambdas that call them: they cost nothing
cost builtin_values.weft "main: at most len(files) model calls, at most 100*len(files) output tokens"
# a recursive helper that cannot ask costs nothing
cost pure_rec.weft "main: at most 1 model call, at most 4096 output tokens"
cost overflow.weft "main: more than 9.2e18 model calls, more than 9.2e18 output tokens"
# a budget block: a constant calls limit caps the body (the smaller constant wins) and its
# output tokens (that many calls of the largest max_tokens), plus its else
cost budget.weft "main: at most 7 model calls, at most 70 output tokens"
# a halving loop keeps its list's bound (each round fans out over at most len(s) pairs)
cost halving.weft "main: at most 10*len(docs) model calls, at most 100*len(docs) output tokens"
