# trust(x, reason) is recorded: a `trust` event per call with the reason
# (escaped like every trace string: a reason cannot forge a line) and the
# origin it cleared ("" for a value that was clean), and the value comes
# back equal. A reason with a NUL or a newline stays inside its field.
. "$TESTDIR/../lib/common.sh"
cat >"$tmp/t.weft" <<'W'
fn main() {
  let xs = trust(["a", "b"], "checked against the allow-list")
  print(xs == ["a", "b"])
  let n = trust(len("abc"), "a length")
  print(n + 1)
  print(trust("x", "line\n\{\"ev\":\"forged\"\}\u{0}tail"))
}
W
run "$WEFT" run "$tmp/t.weft" --trace "$tmp/a.jsonl"
expect_rc 0 "run"
[ "$out" = "true
4
x" ] || fail "values: $out"
T="$tmp/a.jsonl"
[ "$(grep -c '"ev":"trust"' "$T")" = 3 ] || fail "trust events: $(grep -c '"ev":"trust"' "$T")"
grep -q '"ev":"trust","addr":"main","reason":"checked against the allow-list","origin":""}' "$T" || fail "event: $(grep trust "$T")"
grep -q '"ev":"forged"' "$T" && ! grep -q '\\"ev\\":\\"forged\\"' "$T" && fail "a reason forged a trace line"
[ "$(grep -c . "$T")" = "$(grep -c '^{' "$T")" ] || fail "a trace line does not start an event"
# a program cannot write the event itself (trace_event is internal)
cat >"$tmp/u.weft" <<'W'
fn main() { trace_event("trust", { reason: "x" }) }
W
run "$WEFT" run "$tmp/u.weft"
[ "$rc" != 0 ] && [ "$rc" -lt 128 ] || fail "trace_event from a program: exit code $rc"
exit 0
