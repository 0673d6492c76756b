# Every diagnostic and runtime error message is capped (WEFT_MESSAGE_MAX,
# 4 KiB, then "…"), types in messages are cut at 1 KiB, and at most 100
# errors (and 100 warnings) are listed, then "... and N more": what a
# program makes weft print stays bounded however the program is written.
. "$TESTDIR/../lib/common.sh"
. "$TESTDIR/../lib/doubling.sh"

# size FILE MAX WHAT: FILE holds less than MAX bytes.
size() {
  _n=$(wc -c <"$1")
  [ "$_n" -lt "$2" ] || fail "$3: $_n bytes (at most $2 expected)"
}

# A type mismatch naming G0[int], 2^26 anonymous records as text: the
# message shows its first KiB, then "…".
f="$tmp/mismatch.weft"
{
  doubling_types nest 26
  echo 'fn f(x: G0[int]) -> int { x }'
  echo 'fn g(h: fn(G0[int]) -> int) -> int { let _k: int = h; 0 }'
  echo 'fn main() -> int { 0 }'
} >"$f"
check_within 5 "mismatch" "$f"
expect_rc 1 "mismatch"
expect_err "error[E0301]"
expect_err "{ l: { l: { l:"
expect_err "…"
size "$tmp/.err" 8192 "mismatch: the diagnostics"
check_within 5 "mismatch --json" --json "$f"
expect_rc 1 "mismatch --json"
expect_out '"errors":2'
size "$tmp/.out" 8192 "mismatch: the --json document"

# A name of 100,000 characters quoted by "unknown name": cut at 4 KiB.
f="$tmp/name.weft"
{
  printf 'fn main() -> int { '
  i=0
  while [ $i -lt 1000 ]; do printf 'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuv'; i=$((i + 1)); done
  printf ' }\n'
} >"$f"
check_within 5 "long name" "$f"
expect_rc 1 "long name"
expect_err "error[E0201]"
expect_err "…"
# the excerpt of the source line is cut too; the message is at most 4 KiB
size "$tmp/.err" 8192 "long name: the diagnostic"

# 10,000 type errors: the first 100 are listed, then how many more.
f="$tmp/many.weft"
{
  echo 'fn main() {'
  i=0
  while [ $i -lt 10000 ]; do echo "  let _x$i: int = \"a\""; i=$((i + 1)); done
  echo '}'
} >"$f"
check_within 10 "many" "$f"
expect_rc 1 "many"
[ "$(grep -c 'error\[E0301\]' "$tmp/.err")" = 100 ] || fail "many: not 100 errors listed"
expect_err "... and 9900 more errors and warnings"
check_within 10 "many --json" --json "$f"
expect_out '"errors":100,"warnings":0,"omitted":9900'
size "$tmp/.out" 65536 "many: the --json document"

# A runtime error quoting a string of 1 MiB: the message is cut at 4 KiB.
f="$tmp/fail.weft"
cat >"$f" <<'W'
fn main() {
  let big = repeat("abcdefgh", 131072)
  fail("boom: {big}")
}
W
within 10 "fail" "$WEFT" run --quiet "$f"
expect_rc 1 "fail"
expect_err "boom: abcdefgh"
expect_err "…"
size "$tmp/.err" 8192 "fail: the runtime error"
