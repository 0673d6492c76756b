# The compiler's memory is counted against --max-memory (and the 256 MB of
# --untrusted): every allocation the loader, checker and emitter make is
# charged before it happens, and a program that needs more stops compiling
# with E0105, within the limit, instead of taking the machine's memory (a
# 16 MiB source took about 2 GB outside any limit).
. "$TESTDIR/../lib/common.sh"

# Peak RSS by GNU time; a sanitizer build's shadow memory is not the
# program's, so only the clean failure is checked there.
measure=yes
if ! /usr/bin/time -f %M true >/dev/null 2>&1; then
  echo "note: /usr/bin/time missing: peak RSS not checked" >&2
  measure=no
elif grep -q __asan_init "$WEFT" 2>/dev/null; then
  echo "note: sanitizer build: peak RSS not checked" >&2
  measure=no
fi
SLACK_KB=$((32 * 1024))   # the binary, libc and the allocator's own overhead

# refused WHAT LIMIT_MB ARGS...: weft ARGS under --max-memory LIMIT_MB is
# E0105, exit 1, and stays within the limit plus the slack
refused() {
  _w=$1 _mb=$2
  shift 2
  # a refused compile leaves what it had in flight to the process's exit
  # (docs/security.md): a sanitizer build must not report that as a leak
  if [ "$measure" = yes ]; then
    run timeout 60 /usr/bin/time -f 'peak_kb=%M' -o "$tmp/rss" "$WEFT" "$@" --max-memory "${_mb}M"
  else
    run env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" timeout 60 "$WEFT" "$@" --max-memory "${_mb}M"
  fi
  expect_no_crash "$_w"
  expect_rc 1 "$_w"
  expect_err "error[E0105]"
  expect_err "--max-memory"
  if [ "$measure" = yes ]; then
    kb=$(sed -n 's/^peak_kb=//p' "$tmp/rss")
    [ -n "$kb" ] || fail "$_w: no peak RSS reported"
    [ "$kb" -le $((_mb * 1024 + SLACK_KB)) ] || fail "$_w: peak RSS ${kb} KB over --max-memory ${_mb}M + ${SLACK_KB} KB"
  fi
}

# the reproducer: 3 MB of small functions (about 200 MB to compile)
i=0
while [ $i -lt 3000 ]; do
  echo "fn f$i(x: int) -> int { let y = x + $i"
  echo "  y * 2 }"
  i=$((i + 1))
done >"$tmp/chunk"
: >"$tmp/big.weft"
j=0
while [ $j -lt 20 ]; do
  sed "s/fn f/fn g${j}_/" "$tmp/chunk" >>"$tmp/big.weft"
  j=$((j + 1))
done
echo 'fn main() -> int { g0_1(2) }' >>"$tmp/big.weft"
refused "many functions" 32 run --quiet "$tmp/big.weft"

# one expression of 180,000 terms, inside an untrusted program's 1 MiB
{
  printf 'fn main() -> int {\n  let x = 1'
  i=0
  while [ $i -lt 1800 ]; do
    printf ' + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 + 14 + 15 + 16 + 17 + 18 + 19 + 20 + 21 + 22 + 23 + 24 + 25 + 26 + 27 + 28 + 29 + 30 + 31 + 32 + 33 + 34 + 35 + 36 + 37 + 38 + 39 + 40 + 41 + 42 + 43 + 44 + 45 + 46 + 47 + 48 + 49 + 50 + 51 + 52 + 53 + 54 + 55 + 56 + 57 + 58 + 59 + 60 + 61 + 62 + 63 + 64 + 65 + 66 + 67 + 68 + 69 + 70 + 71 + 72 + 73 + 74 + 75 + 76 + 77 + 78 + 79 + 80 + 81 + 82 + 83 + 84 + 85 + 86 + 87 + 88 + 89 + 90 + 91 + 92 + 93 + 94 + 95 + 96 + 97 + 98 + 99 + 100'
    i=$((i + 1))
  done
  printf '\n  x\n}\n'
} >"$tmp/expr.weft"
[ "$(wc -c <"$tmp/expr.weft")" -lt 1048576 ] || fail "the expression program is over the untrusted source cap"
refused "one long expression, untrusted" 16 run --untrusted --quiet "$tmp/expr.weft"

# an ordinary program compiles and runs under the same limit
cat >"$tmp/ok.weft" <<'EOW'
type Item = { name: string, n: int }
fn total(xs: list[Item]) -> int { sum(map(xs, fn(x) => x.n)) }
fn main() -> int { total([{ name: "a", n: 1 }, { name: "b", n: 2 }]) }
EOW
run "$WEFT" run --quiet "$tmp/ok.weft" --max-memory 32M
expect_rc 0 "a small program under 32M"
expect_out 3
run "$WEFT" run --quiet --untrusted "$tmp/ok.weft"
expect_rc 0 "a small program under --untrusted"
exit 0
