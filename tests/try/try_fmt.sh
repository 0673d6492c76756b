# weft fmt lays out `try`: one space after it (a keyword, so `try(x)`
# becomes `try (x)`), its operand kept as written.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1
printf 'fn main() {\n  let r = try(1 + 2)\n  let s = try   [1][0]\n  let t = try try   fail("x")\n  print("{r} {s} {t}")\n}\n' >messy.weft
printf 'fn main() {\n  let r = try (1 + 2)\n  let s = try [1][0]\n  let t = try try fail("x")\n  print("{r} {s} {t}")\n}\n' >expected.weft
run "$WEFT" fmt messy.weft
expect_rc 0 "fmt"
[ "$out" = "$(cat expected.weft)" ] || fail "fmt gave: $out"
run "$WEFT" fmt --check expected.weft
expect_rc 0 "formatted already"
exit 0
