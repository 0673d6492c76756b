# An ask whose own --timeout runs out fails with kind "timeout" (as a
# barrier's timeout does), so a tolerant barrier can tell it from other
# failures; a failed status keeps kind "error". Mock calls that time out
# (tests/mock/) end in the same code.
. "$TESTDIR/../lib/server.sh"

cat >"$tmp/kinds.weft" <<'EOF_W'
role slow { model: "openai/slow-3000" }
role broken { model: "openai/fault-400" }
fn main() {
  let t = fanout i in range(2) { if i == 0 { ask slow "one" } else { ask broken "two" } }
  let j = barrier t tolerate 2
  for f in j.failed { print("{f.branch} {f.kind}") }
}
EOF_W
run "$WEFT" run "$tmp/kinds.weft" --timeout 300ms --retries 0 --no-stream
expect_rc 0 "kinds"
[ "$out" = "0 timeout
1 error" ] || fail "kinds: got $out; stderr: $err"
exit 0
