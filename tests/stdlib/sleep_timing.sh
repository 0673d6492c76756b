# Two sleeps of 600ms take at least 1.2 s in total (sequential in one fiber).
. "$TESTDIR/../lib/common.sh"
cd "$DATA" || exit 1

now_ms() {
  t=$(date +%s%N 2>/dev/null)
  case "$t" in
    *N|"") echo "" ;;
    *) echo $((t / 1000000)) ;;
  esac
}
start=$(now_ms)
[ -n "$start" ] || { echo "no millisecond clock; skipped"; exit 0; }
run "$WEFT" run sleepy.weft
end=$(now_ms)
expect_rc 0 "sleepy"
[ "$out" = "done" ] || fail "got $out"
elapsed=$((end - start))
[ "$elapsed" -ge 1150 ] || fail "two sleeps of 600ms took only ${elapsed}ms"
[ "$elapsed" -lt 8000 ] || fail "two sleeps of 600ms took ${elapsed}ms"
exit 0
