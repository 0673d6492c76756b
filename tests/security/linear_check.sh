# `weft check` stays linear in the program when types share structure:
# 40 type definitions that each use the next twice (2^40 paths, 81 nodes)
# check in well under a second, whether the doubling is in records, in
# lists, maps and optionals, in function types, or meets a second chain in
# an assignment (structural comparison) or an `if` (the join of two types).
# Each would run for days if any walk of the checker followed every path.
. "$TESTDIR/../lib/common.sh"
. "$TESTDIR/../lib/doubling.sh"

N=40
# T0 .. T40 and a second, separate chain U0 .. U40 of the same shape, so
# that comparing them is structural (not the same node). Containers add a
# level each, so their chain stops at 30 (3^30 paths), within the depth
# the checker allows.
chains() {
  n=$N
  [ "$1" = container ] && n=30
  doubling_types "$1" $n
  doubling_types "$1" $n | sed 's/T\([0-9]\)/U\1/g'
}

for kind in record container fn; do
  f="$tmp/$kind.weft"
  {
    chains $kind
    echo 'fn same(x: T0) -> T0 { x }'
    echo 'fn other(x: U0) -> T0 { x }'
    echo 'fn call(x: U0) -> T0 { other(x) }'
    echo 'fn main() -> int { 0 }'
  } >"$f"
  check_within 5 "$kind" "$f"
  expect_rc 0 "$kind: $err"
done

# The join of two chains whose leaves differ ("x" | "y" and "z" make
# "x" | "y" | "z" at every leaf): a new type of 81 nodes, not 2^41.
f="$tmp/join.weft"
{
  doubling_types union $N
  doubling_types union $N | sed 's/T\([0-9]\)/U\1/g; s/"x" | "y"/"z"/'
  echo 'fn pick(b: bool, t: T0, u: U0) -> int {'
  echo '  let v = if b { t } else { u }'
  echo '  let w = [v, t, u]'
  echo '  len(w)'
  echo '}'
  echo 'fn main() -> int { 0 }'
} >"$f"
check_within 5 "join" "$f"
expect_rc 0 "join: $err"

# A mismatch between two chains that differ only at the leaves is found
# (the comparison still reaches the bottom) and reported once, quickly.
f="$tmp/mismatch.weft"
{
  doubling_types union $N
  doubling_types union $N | sed 's/T\([0-9]\)/U\1/g; s/"x" | "y"/"z"/'
  echo 'fn bad(u: U0) -> T0 { u }'
  echo 'fn main() -> int { 0 }'
} >"$f"
check_within 5 "mismatch" "$f"
expect_rc 1 "mismatch"
expect_err "error[E0301]"

