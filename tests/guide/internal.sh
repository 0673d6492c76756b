# The prelude functions the guide leaves out as lowering-only
# (runtime/guide.c, LOWERING_ONLY) are the ones a program cannot call: if
# the checker ever lets a program name one, the guide should list it.
. "$TESTDIR/../lib/common.sh"
for f in verdict_one verdict_quorum; do
  printf 'fn main() {\n  let g = %s\n}\n' "$f" >"$tmp/p.weft"
  run "$WEFT" check "$tmp/p.weft"
  expect_rc 1 "a program naming $f"
  expect_err "E0201"
  "$WEFT" guide | grep -q "$f" && fail "the guide lists the lowering-only $f"
done
exit 0
