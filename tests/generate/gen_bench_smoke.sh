# The benchmark of generated programs (bench/generate) still builds and
# runs: two iterations, every program passing gen_compile against the
# asking signature and linking, so the bench cannot rot unnoticed.
. "$TESTDIR/../lib/common.sh"
build=$(cd "$(dirname "$WEFT")" && pwd)
"$TESTDIR/../../bench/generate/build.sh" "$build" "$tmp/gen_bench" || fail "cannot build gen_bench"
run "$tmp/gen_bench" --iters 2
expect_rc 0 "gen_bench --iters 2"
contains "$out" "500 lines: gen_compile" || fail "no 500-line row: $out"
contains "$out" "50 lines: normalize, gen_compile, link" || fail "no 50-line row: $out"
# the programs are the sizes the targets speak of
lines=$(printf '%s\n' "$out" | sed -n 's/^generated programs: \([0-9]*\) and \([0-9]*\) lines.*/\1 \2/p')
set -- $lines
[ "${1:-0}" -ge 480 ] && [ "${1:-0}" -le 540 ] || fail "the big program has ${1:-?} lines: $out"
[ "${2:-0}" -ge 45 ] && [ "${2:-0}" -le 60 ] || fail "the small program has ${2:-?} lines: $out"
exit 0
