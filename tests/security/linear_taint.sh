# The untrusted-content pass of `weft check` (compiler/taint.c) stays
# linear in the program: a chain of 3000 functions passing untrusted text
# down to fs.write or up from http.get, in either order in the file, and
# a ring of mutually recursive ones, are each found in one run well under
# the bound; a type of 2^40 paths with a string at the bottom is walked
# once to see it is not closed; a function of 1000 parameters (past the 64
# the summaries track one by one) is summarised without blowing up.
. "$TESTDIR/../lib/common.sh"
. "$TESTDIR/../lib/doubling.sh"

N=3000
gen() { # gen down|up|ring FILE
  {
    echo 'import "std/http" as http'
    echo 'import "std/fs" as fs'
    case $1 in
      down)
        i=$((N - 1))
        while [ $i -gt 0 ]; do echo "fn f$i(p: string) { f$((i - 1))(p) }"; i=$((i - 1)); done
        echo 'fn f0(p: string) { fs.write(p, "x") }'
        echo "fn main() { f$((N - 1))(http.get(\"u\").body) }" ;;
      up)
        echo "fn main() { fs.write(g$((N - 1))(), \"x\") }"
        i=$((N - 1))
        while [ $i -gt 0 ]; do echo "fn g$i() -> string { g$((i - 1))() }"; i=$((i - 1)); done
        echo 'fn g0() -> string { http.get("u").body }' ;;
      ring)
        i=0
        while [ $i -lt $N ]; do
          echo "fn r$i(p: string, n: int) -> string {"
          echo "  if n == 0 { fs.write(p, \"x\") }"
          echo "  r$(((i + 1) % N))(p, n - 1)"
          echo "}"
          i=$((i + 1))
        done
        echo 'fn main() { print(r0(http.get("u").body, 3)) }' ;;
    esac
  } >"$2"
}
for k in down up ring; do
  gen $k "$tmp/$k.weft"
  check_within 10 "$k" "$tmp/$k.weft"
  expect_rc 1 "$k: the flow is found"
  expect_err "error[E0650]"
done

# a type of 2^40 paths whose leaves are free text, and one whose are closed
{
  echo 'import "std/http" as http'
  echo 'import "std/fs" as fs'
  doubling_types record 40 | sed 's/^type T40 = int$/type T40 = { s: string }/'
  echo 'fn open(t: T0) -> T0 { t }'
  echo 'fn main() { fs.write(to_json(open(from_json[T0](json_parse(http.get("u").body)))), "x") }'
} >"$tmp/deep.weft"
check_within 10 "deep" "$tmp/deep.weft"
expect_rc 1 "deep: a record with a string at the bottom is not closed"
{
  echo 'import "std/http" as http'
  echo 'import "std/fs" as fs'
  doubling_types record 40
  echo 'fn main() { let t = from_json[T0](json_parse(http.get("u").body))'
  echo '  fs.write(to_json(t), "x") }'
} >"$tmp/deep_closed.weft"
check_within 10 "deep closed" "$tmp/deep_closed.weft"
expect_rc 0 "deep closed: $err"

# 1000 parameters: the one past the 64th reaches the sink
{
  echo 'import "std/http" as http'
  echo 'import "std/fs" as fs'
  printf 'fn wide('
  i=0
  while [ $i -lt 1000 ]; do printf 'p%d: string, ' $i; i=$((i + 1)); done
  echo ') { fs.write(p999, "x") }'
  printf 'fn main() { let b = http.get("u").body\n  wide('
  i=0
  while [ $i -lt 999 ]; do printf '"c", '; i=$((i + 1)); done
  echo 'b) }'
} >"$tmp/wide.weft"
check_within 10 "wide" "$tmp/wide.weft"
expect_rc 1 "wide"
expect_err "error[E0650]"
exit 0
