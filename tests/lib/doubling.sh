# doubling.sh — programs whose types double at every level, for the tests
# of tests/security/linear_*.sh (sourced after common.sh, not a test).
#
# `type T0 = { a: T1, b: T1 }`, `type T1 = { a: T2, b: T2 }`, ... is a
# program of N lines whose type T0, written out as a tree, has 2^N leaves:
# a walk over types that does not share what it has seen takes time (or
# memory) exponential in N. Each KIND doubles in a different construct.

# doubling_types KIND N: the N type definitions T0 .. T(N-1) and the leaf TN.
#   record     { a: T1, b: T1 }, leaf int
#   union      { a: T1, b: T1 }, leaf a literal union "x" | "y"
#   container  { a: list[T1], b: map[T1], c: T1? }, leaf int
#   fn         fn(T1, T1) -> T1, leaf int
#   generic    G0[X] = { a: G1[X], b: G1[X] }, leaf G(N)[X] = X
#   nest       G0[X] = G1[{ l: X, r: X }], leaf G(N)[X] = X: G0[int] has no
#              name below the top, so it prints and lowers as a tree of 2^N
doubling_types() {
  _k=$1 _n=$2 _i=0
  while [ "$_i" -lt "$_n" ]; do
    _j=$((_i + 1))
    case $_k in
      record|union) echo "type T$_i = { a: T$_j, b: T$_j }" ;;
      container) echo "type T$_i = { a: list[T$_j], b: map[T$_j], c: T$_j? }" ;;
      fn) echo "type T$_i = fn(T$_j, T$_j) -> T$_j" ;;
      generic) echo "type G$_i[X] = { a: G$_j[X], b: G$_j[X] }" ;;
      nest) echo "type G$_i[X] = G$_j[{ l: X, r: X }]" ;;
    esac
    _i=$_j
  done
  case $_k in
    union) echo "type T$_n = \"x\" | \"y\"" ;;
    generic|nest) echo "type G$_n[X] = X" ;;
    *) echo "type T$_n = int" ;;
  esac
}

# within SECONDS WHAT CMD...: CMD must end before the timeout, without a
# crash, and print less than 64 KiB on either stream; leaves $rc, $out, $err.
within() {
  _s=$1 _what=$2
  shift 2
  run timeout "$_s" "$@"
  [ "$rc" != 124 ] || fail "$_what: ran for more than $_s s (exponential work?)"
  expect_no_crash "$_what"
  [ "$(wc -c <"$tmp/.out")" -lt 65536 ] || fail "$_what: $(wc -c <"$tmp/.out") bytes of output"
  [ "$(wc -c <"$tmp/.err")" -lt 65536 ] || fail "$_what: $(wc -c <"$tmp/.err") bytes of errors"
}

# check_within SECONDS WHAT [FLAGS...] FILE: `weft check`, within the same bounds.
check_within() {
  _cs=$1 _cwhat=$2
  shift 2
  within "$_cs" "$_cwhat" "$WEFT" check "$@"
}
