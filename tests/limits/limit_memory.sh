# --max-memory SIZE (bytes, or with K/M/G) bounds the heap.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

run "$WEFT" run grow.weft --max-memory 1M
expect_no_crash "memory limit"
expect_rc 1 "memory limit"
expect_err "memory limit"

run "$WEFT" run grow.weft --max-memory 1048576
expect_rc 1 "memory limit in bytes"
expect_err "memory limit"

run "$WEFT" run grow.weft --max-memory 256M
expect_rc 0 "enough memory"
[ "$out" = "16777216" ] || fail "grow: got $out"

run "$WEFT" run grow.weft --max-memory=1G
expect_rc 0 "--max-memory=1G"

for bad in 12X M -1 0 99999999999999999999G; do
  run "$WEFT" run grow.weft --max-memory "$bad"
  expect_rc 2 "--max-memory '$bad'"
done
exit 0
