# An ask's own settings are part of what a recorded reply answers: a
# cassette recorded under one temperature does not answer the same ask
# under another (the replay names the settings), nor one without them;
# the same settings replay.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1
prog() {  # prog FILE SETTINGS
  cat >"$1" <<WEFT
role r { model: "mock/r" }
fn main() -> string {
  let rs = [r]
  ask rs[0]$2 "hello"
}
WEFT
}
prog a.weft ' with { temperature: 0.3, stop: ["END"] }'
run "$WEFT" run --no-journal a.weft --record c.json
expect_rc 0 "record"
grep -q '"with"' c.json || fail "the cassette lacks the settings: $(cat c.json)"
run "$WEFT" run --no-journal a.weft --replay c.json
expect_rc 0 "replay with the same settings"
prog b.weft ' with { temperature: 0.9, stop: ["END"] }'
run "$WEFT" run --no-journal b.weft --replay c.json
expect_rc 1 "replay under another temperature"
expect_err "the ask's own settings (with { ... })"
prog n.weft ''
run "$WEFT" run --no-journal n.weft --replay c.json
expect_rc 1 "replay without settings"
expect_err "the ask's own settings"
exit 0
