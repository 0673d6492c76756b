# Generic type aliases and generic functions stay linear: instantiating
# `type G0[X] = { a: G1[X], b: G1[X] }` 40 levels deep, or
# `type G0[X] = G1[{ l: X, r: X }]` (whose instance has no names below
# the top: a tree of 2^40 anonymous records), substitutes each node once
# and shares the result; inferring a generic function's type parameter
# through such a type (unification) visits each pair of nodes once.
. "$TESTDIR/../lib/common.sh"
. "$TESTDIR/../lib/doubling.sh"

N=40
for kind in generic nest; do
  f="$tmp/$kind.weft"
  {
    doubling_types $kind $N
    echo 'fn same(x: G0[int]) -> G0[int] { x }'
    echo 'fn id[X](x: G0[X]) -> G0[X] { x }'
    echo 'fn call(x: G0[int]) -> G0[int] { id(x) }'
    echo 'fn lists(x: G0[int]) -> list[G0[int]] { [x, id(x), same(x)] }'
    echo 'fn main() -> int { 0 }'
  } >"$f"
  check_within 5 "$kind" "$f"
  expect_rc 0 "$kind: $err"
done

# A type parameter bound twice through the shared type: the two bindings
# join ("x" and "y" make "x" | "y") without expanding the type.
f="$tmp/unify.weft"
{
  doubling_types generic $N
  echo 'fn both[X](a: G0[X], b: G0[X]) -> G0[X] { a }'
  echo 'fn call(a: G0["x"], b: G0["y"]) -> G0["x" | "y"] { both(a, b) }'
  echo 'fn main() -> int { 0 }'
} >"$f"
check_within 5 "unify" "$f"
expect_rc 0 "unify: $err"

# The same instances deeper than the checker allows are refused with a
# diagnostic at once, not expanded.
f="$tmp/deep.weft"
{
  doubling_types nest 90
  echo 'fn same(x: G0[int]) -> G0[int] { x }'
  echo 'fn main() -> int { 0 }'
} >"$f"
check_within 5 "deep" "$f"
expect_rc 1 "deep"
expect_err "error[E0313]"
