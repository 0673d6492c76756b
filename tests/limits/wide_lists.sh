# Very long field, parameter and union-member lists are refused by the
# parser (E0504, limit 1000 each) instead of making the checker and the
# emitter compare them pairwise for minutes; 1000 still compiles.
. "$TESTDIR/../lib/common.sh"

# seq_join N FORMAT SEP: FORMAT (with %d) for 0..N-1, joined by SEP.
seq_join() {
  awk -v n="$1" -v f="$2" -v s="$3" \
    'BEGIN { for (i = 0; i < n; i++) { if (i) printf "%s", s; printf f, i } }'
}

for n in 1000 20000; do
  {
    printf 'type T = {'
    seq_join "$n" 'f%d: int?' ', '
    printf '}\nfn f('
    seq_join "$n" 'a%d: int' ', '
    printf ') -> int {\n  return a0\n}\ntype U = '
    seq_join "$n" '"v%d"' ' | '
    printf '\nfn main() {\n  let r = {'
    seq_join "$n" 'f%d: 1' ', '
    printf '}\n  let _t: T = {f0: 1}\n  let q = r with {'
    seq_join "$n" 'f%d: 2' ', '
    printf '}\n  let u: U = "v0"\n  print(q.f0 + r.f1)\n  print(u)\n}\n'
  } >"$tmp/wide$n.weft"
done

run "$WEFT" check "$tmp/wide1000.weft"
expect_no_crash "1000 members"
expect_rc 0 "1000 fields, parameters and union members"

run "$WEFT" check "$tmp/wide20000.weft"
expect_no_crash "20000 members"
expect_rc 1 "20000 fields, parameters and union members"
expect_err "error[E0504]: more than 1000"
run "$WEFT" run "$tmp/wide20000.weft"
expect_no_crash "run of 20000 members"
expect_rc 1 "run of 20000 members"
exit 0
