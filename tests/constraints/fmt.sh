# weft fmt writes constrained types canonically: no space inside the
# parentheses or around `..`, a minus kept with its number; the formatted
# program compiles to the same bytecode.
. "$TESTDIR/../lib/common.sh"

printf 'type A = int( 1 .. 10 )\ntype B = float( - 1.5 ..2.0 )\ntype C = list[ string ] ( .. 5 )?\ntype D = string(3 ..)\nfn main(a: A, b: B, c: C, d: D) { print("{a}{b}{c}{d}") }\n' >"$tmp/in.weft"
cat >"$tmp/want.weft" <<'EOF_W'
type A = int(1..10)
type B = float(-1.5..2.0)
type C = list[string](..5)?
type D = string(3..)
fn main(a: A, b: B, c: C, d: D) { print("{a}{b}{c}{d}") }
EOF_W
run "$WEFT" fmt "$tmp/in.weft"
expect_rc 0 "fmt"
[ "$out" = "$(cat "$tmp/want.weft")" ] || fail "fmt: got
$out"
"$WEFT" disasm "$tmp/in.weft" >"$tmp/a.dis" 2>&1 || fail "disasm of the input"
"$WEFT" disasm "$tmp/want.weft" >"$tmp/b.dis" 2>&1 || fail "disasm of the output"
sed 's#/[^ ]*/\(in\|want\)\.weft#F#g' "$tmp/a.dis" >"$tmp/a"
sed 's#/[^ ]*/\(in\|want\)\.weft#F#g' "$tmp/b.dis" >"$tmp/b"
cmp -s "$tmp/a" "$tmp/b" || fail "bytecode differs: $(diff "$tmp/a" "$tmp/b" | head)"
exit 0
