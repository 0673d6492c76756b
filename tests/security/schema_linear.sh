# The JSON Schema of a reply type whose parts are shared (each level uses
# the next twice) is linear in the program: every part reached along more
# than one edge is written once under "$defs" and referred to by "$ref".
# It used to be expanded as a tree and stopped at 20,000 nodes, so an ask
# that checked failed at run time ("too large"). Each program checks, runs
# under the mock, and the schema the run recorded stays small.
. "$TESTDIR/../lib/common.sh"
. "$TESTDIR/../lib/doubling.sh"

N=30
one() {
  _w=$1 _type=$2
  f="$tmp/$_w.weft"
  {
    cat "$tmp/types"
    echo 'role r { model: "mock/m" }'
    echo "fn main() -> int { let _r = ask r \"hi\" -> $_type"
    echo '  1 }'
  } >"$f"
  check_within 5 "$_w: check" "$f"
  expect_rc 0 "$_w: check"
  rm -f "$tmp/c.json"
  within 10 "$_w: run" "$WEFT" run --quiet --record "$tmp/c.json" "$f"
  expect_rc 0 "$_w: run"
  expect_out 1
  grep -q '"\$defs"' "$tmp/c.json" || fail "$_w: the schema has no \$defs: $(head -c 600 "$tmp/c.json")"
  # the request (role, model, prompt, schema) is one line of the cassette
  size=$(grep '"request"' "$tmp/c.json" | head -n 1 | wc -c)
  [ "$size" -lt $((N * 400)) ] || fail "$_w: the request is $size bytes for $N levels"
}

# the reproducer: a record whose two fields (an optional and a list) use
# the next level, so a short reply exists while the tree has 2^N leaves
records() {
  i=0
  : >"$tmp/types"
  while [ $i -lt "$1" ]; do
    echo "type T$i = { a: T$((i + 1))?, b: list[T$((i + 1))] }" >>"$tmp/types"
    i=$((i + 1))
  done
  echo "type T$1 = { x: int, s: \"p\" | \"q\" }" >>"$tmp/types"
}
records $N
one records T0
full=$size

# the size grows with the program, not with its tree: half the levels,
# about half the bytes
records $((N / 2))
one half T0
[ "$full" -lt $((size * 5 / 2)) ] || fail "$N levels asked with $full bytes, $((N / 2)) levels $size"

# a list, a map and an optional of the next level (doubling.sh's container)
doubling_types container $N >"$tmp/types"
one containers T0

# anonymous records from a generic alias: nothing is named below the top,
# so the defs are keyed by position
i=0
: >"$tmp/types"
while [ $i -lt $N ]; do
  echo "type G$i[X] = G$((i + 1))[{ l: X?, r: list[X] }]" >>"$tmp/types"
  i=$((i + 1))
done
echo "type G$N[X] = X" >>"$tmp/types"
one anonymous 'G0[int]'
