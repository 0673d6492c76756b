# --max-fibers N bounds live fibers (main is one); bad values are usage errors.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

run "$WEFT" run hello.weft --max-fibers 1
expect_rc 0 "one fiber is enough for main"
[ "$out" = "hello" ] || fail "got $out"

run "$WEFT" run hello.weft --max-fibers=1000
expect_rc 0 "--max-fibers=1000"

for bad in 0 none -1; do
  run "$WEFT" run hello.weft --max-fibers "$bad"
  expect_rc 2 "--max-fibers '$bad'"
done
exit 0
