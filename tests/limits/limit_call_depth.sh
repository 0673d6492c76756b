# --max-call-depth N stops runaway recursion with a clean error.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

run "$WEFT" run recurse.weft --max-call-depth 50
expect_rc 1 "call depth"
expect_err "call depth limit (50) exceeded"

run "$WEFT" run recurse.weft --max-call-depth=200
expect_rc 1 "call depth with ="
expect_err "call depth limit (200) exceeded"

# The default limit also ends it, without overflowing the C stack.
run "$WEFT" run recurse.weft
expect_no_crash "default call depth"
expect_rc 1 "default call depth"
expect_err "call depth limit"

for bad in abc 0 -5 1.5 ""; do
  run "$WEFT" run recurse.weft --max-call-depth "$bad"
  expect_rc 2 "--max-call-depth '$bad'"
done
exit 0
