# Role values and role stop sequences survive `weft build`: the .weftc
# runs like the source and its role table keeps the stop list.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1
cat >p.weft <<'WEFT'
role ok { model: "mock/ok", stop: ["END", "##"] }
role plain { model: "mock/p" }
fn main() -> list[string] {
  let rs = [ok, plain]
  map(rs, fn(r: role) => "{r}:" + ask r with { max_tokens: 9 } "hi")
}
WEFT
run "$WEFT" run --no-journal p.weft
expect_rc 0 "source run"
src_out=$out
run "$WEFT" build p.weft -o p.weftc
expect_rc 0 "build"
run "$WEFT" run --no-journal p.weftc
expect_rc 0 "module run"
[ "$out" = "$src_out" ] || fail "the module ran differently: $out vs $src_out"
run "$WEFT" disasm p.weftc
expect_out 'model "mock/ok" stop "END", "##"'
expect_out "ASK_ROLE"
exit 0
