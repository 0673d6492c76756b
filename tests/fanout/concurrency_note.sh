# A fan-out whose limits ask for more model calls at once than
# --max-concurrency allows is held to it: the run says so, once per
# fan-out, as a note under its summary and a `concurrency` trace event
# (docs/runtime.md). Mock calls go through the same admission.
. "$TESTDIR/../lib/common.sh"

cat >"$tmp/wide.weft" <<'W'
role r { model: "mock/m" }
fn main() {
  let t = fanout i in range(300) limit 256 { ask r "item {i}" }
  print(len(barrier t))
}
W

# the default (64) holds it back
run "$WEFT" run "$tmp/wide.weft" --trace "$tmp/t.jsonl"
expect_rc 0 "limit 256, default --max-concurrency"
[ "$out" = 300 ] || fail "output: $out"
expect_err "weft: note: --max-concurrency 64 (the default) held fan-out main/fanout#1@3 to 64 model calls at once; its limits allow 256: give --max-concurrency 256 to run them all"
n=$(grep -c '"ev":"concurrency"' "$tmp/t.jsonl")
[ "$n" = 1 ] || fail "expected one concurrency event, got $n: $(cat "$tmp/t.jsonl" | head -5)"
grep -q '"ev":"concurrency","addr":"main/fanout#1@3","limit":256,"asked":256,"max_concurrency":64,"from":"default"}' "$tmp/t.jsonl" ||
  fail "concurrency event: $(grep concurrency "$tmp/t.jsonl")"

# a flag below the limit: said too, without "(the default)"
run "$WEFT" run "$tmp/wide.weft" --max-concurrency 100 --trace "$tmp/t2.jsonl"
expect_rc 0 "--max-concurrency 100"
expect_err "weft: note: --max-concurrency 100 held fan-out main/fanout#1@3 to 100 model calls at once"
grep -q '"max_concurrency":100,"from":"flag"}' "$tmp/t2.jsonl" || fail "event with the flag: $(grep concurrency "$tmp/t2.jsonl")"

# enough room: nothing said
run "$WEFT" run "$tmp/wide.weft" --max-concurrency 256 --trace "$tmp/t3.jsonl"
expect_rc 0 "--max-concurrency 256"
contains "$err" "note:" && fail "a note with room enough: $err"
grep -q concurrency "$tmp/t3.jsonl" && fail "an event with room enough"

# --quiet drops the summary and its note; the trace keeps the event
run "$WEFT" run "$tmp/wide.weft" --quiet --trace "$tmp/t4.jsonl"
expect_rc 0 "--quiet"
contains "$err" "note:" && fail "a note under --quiet: $err"
grep -q '"ev":"concurrency"' "$tmp/t4.jsonl" || fail "no event under --quiet"

# a limit above the cap that is never reached (10 branches): nothing held back
cat >"$tmp/narrow.weft" <<'W'
role r { model: "mock/m" }
fn main() {
  let t = fanout i in range(10) limit 256 { ask r "item {i}" }
  print(len(barrier t))
}
W
run "$WEFT" run "$tmp/narrow.weft" --trace "$tmp/t5.jsonl"
expect_rc 0 "10 branches"
contains "$err" "note:" && fail "a note for 10 calls: $err"
grep -q concurrency "$tmp/t5.jsonl" && fail "an event for 10 calls"

# nested limits multiply: 10 under 10 ask for 100; a limit computed at run
# time counts like a written one; each inner fan-out is reported once
cat >"$tmp/nested.weft" <<'W'
role r { model: "mock/m" }
fn one(i: int, w: int) -> list[string] {
  let t = fanout j in range(20) limit w { ask r "item {i} {j}" }
  barrier t
}
fn main(w: int) {
  let t = fanout i in range(30) limit 10 { one(i, w) }
  print(len(barrier t))
}
W
run "$WEFT" run "$tmp/nested.weft" --arg w=10 --trace "$tmp/t6.jsonl"
expect_rc 0 "nested"
expect_err "fan-outs to 64 model calls at once (the widest, main/fanout#1@7["
expect_err "allows 100): give --max-concurrency 100 to run them all"
grep -q '"limit":10,"asked":100,"max_concurrency":64' "$tmp/t6.jsonl" || fail "nested event: $(grep concurrency "$tmp/t6.jsonl" | head -2)"
ev=$(grep '"ev":"concurrency"' "$tmp/t6.jsonl" | sed 's/.*"addr":"\([^"]*\)".*/\1/' | sort)
[ "$(printf '%s\n' "$ev" | uniq -d)" = "" ] || fail "a fan-out reported twice: $ev"
run "$WEFT" run "$tmp/nested.weft" --arg w=6 --trace "$tmp/t7.jsonl"
expect_rc 0 "nested, 60 at once"
contains "$err" "note:" && fail "a note for 60 at once: $err"
exit 0
