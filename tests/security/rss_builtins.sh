# rss_builtins.sh — every builtin that allocates in proportion to its
# inputs stops at --max-memory with the memory error, and the process's
# peak RSS stays within the limit plus a fixed allowance for the binary,
# the compiler and the allocator (SLACK_KB). The builtins come from
# stdlib/natives.def: a native with no case below and no entry in the
# non-allocating list fails the test, so a new builtin cannot be forgotten.
. "$TESTDIR/../lib/common.sh"

NATIVES="$TESTDIR/../../stdlib/natives.def"
[ -r "$NATIVES" ] || fail "cannot read $NATIVES"

LIMIT_MB=64
SLACK_KB=$((32 * 1024)) # binary, compiler, libc and allocator slack

# Builtins whose result is of fixed size (or a borrowed part of the input),
# with the reason: they never allocate in proportion to their inputs.
NONALLOC="
len:an int
contains:a bool (comparison work is charged as fuel; see compare_*.weft)
starts_with:a bool
ends_with:a bool
index_of:an int (the search table is checked: see strings.c)
sum:a number
get:a borrowed value
has:a bool
parse_int:an int
parse_float:a float
to_float:a number
to_int:a number
abs:a number
min:a number (of two, or of a list: one of its elements)
max:a number (of two, or of a list: one of its elements)
max_by_keys:a borrowed element (comparison work is charged as fuel)
min_by_keys:a borrowed element (comparison work is charged as fuel)
format_float:a string of at most 331 bytes (digits are capped at 20)
clamp:a number
floor:a number
ceil:a number
round:a number
sqrt:a number
pow:a number
fail:raises; its message is the program's own string
sleep:parks the fiber
trust:a clean value is returned as it is; a labelled one is copied node by node, each charged to fuel and checked against the memory limit first (tests/unit/test_labels.c); a program holds a labelled value only from a source
budget_used:a record of four fixed-size fields
budget_left:a record of four fixed-size fields
now:an int
since:a duration
tournament_seed:an int
trace_loop:a bool
trace_event:internal (programs cannot name it); writes a trace line, builds no value
cap_call:internal (programs cannot name it); parks the fiber; the host builds its result, bounded by each operation's cap (std/fs: 16 MiB)
agent_steps_failed:internal (programs cannot name it); raises the step-limit failure with its message, builds no value
"

# RSS is measured with GNU time; a sanitizer build's shadow memory is not
# the program's, so only the clean failure is checked there.
measure=yes
if ! /usr/bin/time -f %M true >/dev/null 2>&1; then
  echo "note: /usr/bin/time missing: peak RSS not checked" >&2
  measure=no
elif grep -q __asan_init "$WEFT" 2>/dev/null; then
  echo "note: sanitizer build: peak RSS not checked" >&2
  measure=no
fi

# The program for one builtin: it builds inputs within the limit and then
# asks the builtin for a result past it (or keeps its results until they
# are). Growth is by doubling so each program ends within seconds.
program() {
  case "$1" in
  split) body='let s = repeat(",", 4000000)
  print(len(split(s, ",")))' ;;
  join) body='let s = repeat("x", 1000000)
  var xs: list[string] = []
  for i in range(200) { xs = xs + [s] }
  print(len(join(xs, ",")))' ;;
  trim) body='var s = repeat(" x ", 1000000)
  var keep: list[string] = []
  for i in range(100) { keep = keep + [trim(s)] }
  print(len(keep))' ;;
  replace) body='let s = repeat("x", 1000000)
  let r = repeat("y", 1000)
  print(len(replace(s, "x", r)))' ;;
  upper) body='let s = repeat("x", 4000000)
  var keep: list[string] = []
  for i in range(100) { keep = keep + [upper(s)] }
  print(len(keep))' ;;
  lower) body='let s = repeat("X", 4000000)
  var keep: list[string] = []
  for i in range(100) { keep = keep + [lower(s)] }
  print(len(keep))' ;;
  slice) body='let s = repeat("x", 4000000)
  var keep: list[string] = []
  for i in range(100) { keep = keep + [slice(s, 1, 4000000)] }
  let xs = range(1000000)
  var kept: list[list[int]] = []
  for i in range(100) { kept = kept + [slice(xs, 1, 1000000)] }
  print(len(keep))' ;;
  lines) body='let s = repeat("\n", 4000000)
  print(len(lines(s)))' ;;
  repeat) body='print(len(repeat("ab", 4611686018427387904)))
  print(len(repeat("x", 2147483648)))
  print(len(repeat("x", 4294967296)))' ;;
  chars) body='let s = repeat("x", 4000000)
  print(len(chars(s)))' ;;
  sort) body='let xs = reverse(range(2000000))
  print(len(sort(xs)))' ;;
  sort_by_keys) body='let xs = range(2000000)
  print(len(sort_by(xs, fn(x) => 0 - x)))' ;;
  tally) body='let xs = map(range(600000), fn(i) => "k{i}")
  print(len(tally(xs)))' ;;
  group_by_keys) body='let xs = range(1500000)
  let ks = map(xs, fn(x) => "k")
  print(len(group_by_keys(xs, ks)))' ;;
  reverse) body='let xs = range(1000000)
  var keep: list[list[int]] = []
  for i in range(100) { keep = keep + [reverse(xs)] }
  print(len(keep))' ;;
  zip) body='let xs = range(2000000)
  print(len(zip(xs, xs)))' ;;
  flatten) body='let xs = range(1000000)
  print(len(flatten([xs, xs, xs, xs, xs])))' ;;
  take) body='let xs = range(1000000)
  var keep: list[list[int]] = []
  for i in range(100) { keep = keep + [take(xs, 1000000)] }
  print(len(keep))' ;;
  drop) body='let xs = range(1000000)
  var keep: list[list[int]] = []
  for i in range(100) { keep = keep + [drop(xs, 1)] }
  print(len(keep))' ;;
  unique) body='let xs = range(2000000)
  print(len(unique(xs)))' ;;
  range) body='print(len(range(4294967296)))
  print(len(range(-9223372036854775807, 9223372036854775807)))
  print(len(range(8000000)))' ;;
  enumerate) body='let xs = range(2000000)
  print(len(enumerate(xs)))' ;;
  keys) body='let m = json_parse("{{" + join(map(range(100000), fn(i) => "\"k{i}\": {i}"), ",") + "}}")
  var keep: list[list[string]] = []
  for i in range(100) { keep = keep + [keys(from_json[map[int]](m))] }
  print(len(keep))' ;;
  values) body='let m = json_parse("{{" + join(map(range(100000), fn(i) => "\"k{i}\": {i}"), ",") + "}}")
  var keep: list[list[int]] = []
  for i in range(100) { keep = keep + [values(from_json[map[int]](m))] }
  print(len(keep))' ;;
  set) body='let m = from_json[map[int]](json_parse("{{" + join(map(range(100000), fn(i) => "\"k{i}\": {i}"), ",") + "}}"))
  var keep: list[map[int]] = []
  for i in range(100) { keep = keep + [set(m, "x", i)] }
  print(len(keep))' ;;
  remove) body='let m = from_json[map[int]](json_parse("{{" + join(map(range(100000), fn(i) => "\"k{i}\": {i}"), ",") + "}}"))
  var keep: list[map[int]] = []
  for i in range(100) { keep = keep + [remove(m, "k1")] }
  print(len(keep))' ;;
  json_parse) body='let s = "[" + join(map(range(2000000), fn(i) => "[]"), ",") + "]"
  print(len(to_json(json_parse(s))))' ;;
  to_json) body='let s = repeat("\u{1}", 10000000)
  print(len(to_json(s)))' ;;
  str) body='let s = repeat("x", 1000000)
  var xs: list[string] = []
  for i in range(200) { xs = xs + [s] }
  print(len(str(xs)))' ;;
  print) body='let s = repeat("x", 1000000)
  var xs: list[string] = []
  for i in range(200) { xs = xs + [s] }
  print(xs)' ;;
  log) body='let s = repeat("x", 1000000)
  var xs: list[string] = []
  for i in range(200) { xs = xs + [s] }
  log(xs)' ;;
  verify_prompt) body='let s = repeat("v", 1000000)
  var xs: list[string] = []
  for i in range(100) { xs = xs + [s] }
  print(len(verify_prompt(s, [], xs, xs, xs)))' ;;
  judge_prompt) body='let s = repeat("z", 1000000)
  var xs: list[string] = []
  for i in range(100) { xs = xs + [s] }
  print(len(judge_prompt(s, xs, xs)))' ;;
  # not natives, but the operators that build values as builtins do
  +interpolation) body='let s = repeat("x", 1000000)
  var xs: list[string] = []
  for i in range(3000) { xs = xs + [s] }
  print(len("{xs}"))' ;;
  +string_concat) body='var s = "x"
  for i in range(40) { s = s + s }
  print(len(s))' ;;
  +list_concat) body='var xs = [1]
  for i in range(40) { xs = xs + xs }
  print(len(xs))' ;;
  *) return 1 ;;
  esac
  printf 'fn main() {\n  %s\n}\n' "$body"
}

names="$(sed -n 's/^NATIVE[A-Z_]*("\([a-z_0-9]*\)".*/\1/p' "$NATIVES" | sort -u) +interpolation +string_concat +list_concat"
[ -n "$names" ] || fail "no natives found in $NATIVES"
count=0
for name in $names; do
  if printf '%s\n' "$NONALLOC" | grep -q "^$name:"; then continue; fi
  program "$name" >"$tmp/$name.weft" || fail "builtin '$name' has no memory case here and is not listed as non-allocating"
  count=$((count + 1))
  if [ "$measure" = yes ]; then
    run /usr/bin/time -f 'peak_kb=%M' -o "$tmp/$name.rss" "$WEFT" run "$tmp/$name.weft" --max-memory ${LIMIT_MB}M
  else
    run "$WEFT" run "$tmp/$name.weft" --max-memory ${LIMIT_MB}M
  fi
  [ -n "${RSS_VERBOSE:-}" ] && echo "$name rc=$rc kb=$(sed -n "s/^peak_kb=//p" "$tmp/$name.rss" 2>/dev/null) $(printf '%s' "$err" | grep -v '^weft: run' | head -c 150)" >&2
  [ -n "${RSS_SURVEY:-}" ] && continue
  expect_no_crash "$name"
  expect_rc 1 "$name"
  expect_err "memory limit"
  if [ "$measure" = yes ]; then
    kb=$(sed -n 's/^peak_kb=//p' "$tmp/$name.rss")
    [ -n "$kb" ] || fail "$name: no peak RSS reported"
    max=$((LIMIT_MB * 1024 + SLACK_KB))
    [ "$kb" -le "$max" ] || fail "$name: peak RSS ${kb} KB over ${max} KB (--max-memory ${LIMIT_MB}M + ${SLACK_KB} KB)"
  fi
done
[ "$count" -ge 30 ] || fail "only $count allocating builtins checked"
exit 0
