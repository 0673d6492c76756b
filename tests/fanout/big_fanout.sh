# Bad input at scale: a fan-out over 1,000,000 items with `limit 1000` of
# pure computation completes within memory limits (pending branches cost a
# record, not a fiber): peak RSS under 200 MB (measured with
# /usr/bin/time -f %M; a sanitizer build gets a looser bound, its shadow
# memory is not ours). A failure at item 500,000 under a plain barrier
# stops the run cleanly, and `first 10` stops after 10 successes.
. "$TESTDIR/../lib/common.sh"

[ -x /usr/bin/time ] || fail "/usr/bin/time is missing (apt-get install time)"
limit_kb=204800
if grep -q __asan_init "$WEFT" 2>/dev/null; then
  limit_kb=1048576
fi

cat >"$tmp/big.weft" <<'EOF_W'
fn main() {
  let r = barrier fanout x in range(1000000) limit 1000 { x % 7 }
  print(len(r))
  print(sum(r))
}
EOF_W
/usr/bin/time -f %M -o "$tmp/rss" "$WEFT" run "$tmp/big.weft" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 0 ] || fail "1,000,000 items: exit $rc: $(cat "$tmp/err")"
[ "$(cat "$tmp/out")" = "1000000
2999997" ] || fail "1,000,000 items: wrong output: $(cat "$tmp/out")"
rss=$(tail -n 1 "$tmp/rss")
[ "$rss" -lt "$limit_kb" ] || fail "1,000,000 items: peak RSS $rss KB (limit $limit_kb KB)"

cat >"$tmp/big_fail.weft" <<'EOF_W'
fn main() {
  let r = barrier fanout x in range(1000000) limit 1000 {
    if x == 500000 { fail("item {x} is bad") }
    x
  }
  print(len(r))
}
EOF_W
run "$WEFT" run "$tmp/big_fail.weft"
expect_no_crash "a failure among 1,000,000 items"
expect_rc 1 "a failure among 1,000,000 items"
expect_err "branch 500000 failed: item 500000 is bad"
expect_no_out "a failure among 1,000,000 items"

cat >"$tmp/big_first.weft" <<'EOF_W'
fn main() {
  print(barrier fanout x in range(1000000) limit 1000 { x * 2 } first 10)
}
EOF_W
run "$WEFT" run "$tmp/big_first.weft"
expect_rc 0 "first 10 of 1,000,000"
[ "$out" = "[0,2,4,6,8,10,12,14,16,18]" ] || fail "first 10 of 1,000,000: got $out"

# Within a tight --max-memory the same fan-out fails cleanly (an error,
# not a crash or an OOM kill).
run "$WEFT" run "$tmp/big.weft" --max-memory 4M
expect_no_crash "1,000,000 items in 4 MB"
expect_rc 1 "1,000,000 items in 4 MB"
expect_err "memory limit"
exit 0
