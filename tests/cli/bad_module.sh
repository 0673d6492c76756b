# A truncated or corrupted .weftc is refused cleanly with exit 1, never a crash.
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

run "$WEFT" build boom.weft -o "$tmp/good.weftc"
expect_rc 0 "build"
size=$(wc -c <"$tmp/good.weftc")

for n in 8 12 20 40 $((size / 2)) $((size - 1)); do
  head -c "$n" "$tmp/good.weftc" >"$tmp/cut.weftc"
  run "$WEFT" run "$tmp/cut.weftc"
  expect_no_crash "truncated to $n bytes"
  expect_rc 1 "truncated to $n bytes"
  expect_err "cannot load module"
  run "$WEFT" disasm "$tmp/cut.weftc"
  expect_no_crash "disasm of a module truncated to $n bytes"
  expect_rc 1 "disasm of a module truncated to $n bytes"
done

# Flip one byte in the middle: the checksum or the verifier must object.
half=$((size / 2))
{
  head -c "$half" "$tmp/good.weftc"
  printf '\377'
  tail -c "+$((half + 2))" "$tmp/good.weftc"
} >"$tmp/flip.weftc"
[ "$(wc -c <"$tmp/flip.weftc")" -eq "$size" ] || fail "corrupted copy has the wrong size"
run "$WEFT" run "$tmp/flip.weftc"
expect_no_crash "corrupted module"
expect_rc 1 "corrupted module"
exit 0
