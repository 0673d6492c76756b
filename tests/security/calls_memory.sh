# Memory held by model calls in flight (each call's copy of its prompt, the
# journal's request, the request body, the schema, the reply buffer) is
# counted against --max-memory: charged as the call builds it, given back
# when the call ends. A fan-out of asks that share one large prompt used to
# reach 1.2 GB of RSS under --max-memory 64M (the prompt is one string in
# the heap, but every call copied it twice outside it).
. "$TESTDIR/../lib/common.sh"

measure=yes
if ! /usr/bin/time -f %M true >/dev/null 2>&1; then
  echo "note: /usr/bin/time missing: peak RSS not checked" >&2
  measure=no
elif grep -q __asan_init "$WEFT" 2>/dev/null; then
  echo "note: sanitizer build: peak RSS not checked" >&2
  measure=no
fi
SLACK_KB=$((32 * 1024))   # the binary, libc and the allocator's own overhead

# limited WHAT LIMIT_MB ARGS...: weft run ARGS under --max-memory LIMIT_MB
# (given as the last flag unless LIMIT_MB is "-"; the limit is then the
# untrusted default, 256). Leaves $rc, $out, $err; checks the peak RSS.
limited() {
  _w=$1 _mb=$2
  shift 2
  set -- "$WEFT" run --quiet "$@"
  if [ "$_mb" = - ]; then _mb=256; else set -- "$@" --max-memory "${_mb}M"; fi
  if [ "$measure" = yes ]; then
    run timeout 60 /usr/bin/time -f 'peak_kb=%M' -o "$tmp/rss" "$@"
  else
    run timeout 60 "$@"
  fi
  expect_no_crash "$_w"
  [ "$rc" != 124 ] || fail "$_w: did not end within 60 s"
  if [ "$measure" = yes ]; then
    kb=$(sed -n 's/^peak_kb=//p' "$tmp/rss")
    [ -n "$kb" ] || fail "$_w: no peak RSS reported"
    [ "$kb" -le $((_mb * 1024 + SLACK_KB)) ] || fail "$_w: peak RSS ${kb} KB over ${_mb} MB + ${SLACK_KB} KB"
  fi
}

# the reproducer: 300 branches ask with one 2 MB prompt under 64M
cat >"$tmp/fan.weft" <<'EOW'
role r { model: "mock/m" }
fn main() -> int {
  let p = repeat("x", 2000000)
  let t = fanout i in range(0, 300) { ask r p }
  let rs = barrier t
  len(rs)
}
EOW
limited "a fan-out of large prompts" 64 "$tmp/fan.weft"
expect_rc 1 "a fan-out of large prompts"
expect_err "memory limit (67108864 bytes) exceeded"

# typed asks: each call also holds its schema and a typed reply
cat >"$tmp/typed.weft" <<'EOW'
role r { model: "mock/m" }
type Item = { name: string, n: int, tags: list[string] }
fn main() -> int {
  let p = repeat("y", 1000000)
  let t = fanout i in range(0, 200) { ask r p -> list[Item] }
  let rs = barrier t
  len(rs)
}
EOW
limited "a fan-out of typed asks" 32 "$tmp/typed.weft"
expect_rc 1 "a fan-out of typed asks"
expect_err "memory limit (33554432 bytes) exceeded"

# an untrusted run: its 256M default holds, not 150 copies of 4 MB
sed 's/repeat("x", 2000000)/repeat("x", 4000000)/; s/range(0, 300)/range(0, 150)/' "$tmp/fan.weft" >"$tmp/untrusted.weft"
limited "an untrusted fan-out" - --untrusted --budget-calls 1000 "$tmp/untrusted.weft"
expect_rc 1 "an untrusted fan-out"
expect_err "memory limit (268435456 bytes) exceeded"

# the control: the same prompt asked 10 times in a row fits, since each
# call gives its memory back when it ends
cat >"$tmp/seq.weft" <<'EOW'
role r { model: "mock/m" }
fn main() -> int {
  let p = repeat("x", 2000000)
  for i in range(0, 10) { let _a = ask r p }
  10
}
EOW
limited "asks one after another" 64 "$tmp/seq.weft"
expect_rc 0 "asks one after another"
expect_out 10
exit 0
