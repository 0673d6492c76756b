# weft test with a cassette: --update records it against the providers
# (here the local test server), a plain run replays it offline with the
# server stopped and no key set, and a cassette that does not fit the
# program fails the test naming the call's address. No key is written to
# the cassette or shown in any output.
. "$TESTDIR/../lib/server.sh"

mkdir "$tmp/t"
cat >"$tmp/t/notes.weft" <<'EOF_W'
type Verdict = { label: "bug" | "feature", confidence: float }
role writer { model: "openai/gpt-4o-mini" }
role judge { model: "anthropic/claude-haiku-4-5" }
fn main(topic: string) -> string {
  let note = ask writer "note about {topic}"
  let v = ask judge "classify: {topic}" -> Verdict
  note + " => " + v.label
}
EOF_W
cat >"$tmp/t/notes.test.json" <<'EOF_J'
{"name": "notes", "program": "notes.weft", "args": {"topic": "crash on start"},
 "cassette": "notes.cassette.json",
 "expect": {"result": "old", "calls": 2, "roles": {"writer": 1, "judge": 1},
            "models": ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"]}}
EOF_J

# No cassette yet: the test fails offline, saying so, and sends nothing.
reset_stats
run "$WEFT" test "$tmp/t"
expect_rc 1 "a test whose cassette is missing"
expect_out "notes.cassette.json"
[ "$(attempts)" = 0 ] || fail "a test without --update sent $(attempts) requests"

# --update: the cassette is recorded live and the expected result rewritten.
run "$WEFT" test --update "$tmp/t"
expect_rc 0 "weft test --update"
[ "$(attempts)" = 2 ] || fail "--update sent $(attempts) requests, not 2"
[ -s "$tmp/t/notes.cassette.json" ] || fail "--update wrote no cassette"
expect_err "rewrote the expected results in $tmp/t/notes.test.json"
"$PY" - "$tmp/t/notes.test.json" "$tmp/t/notes.cassette.json" <<'EOF_P' || fail "after --update: $(cat "$tmp/t/notes.test.json")"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["expect"]["result"] == "echo: note about crash on start => bug", t
assert t["expect"]["calls"] == 2 and t["cassette"] == "notes.cassette.json", t
c = json.load(open(sys.argv[2]))
assert c["weft_cassette"] == 1 and len(c["effects"]) == 2, c
EOF_P
! grep -q SECRET "$tmp/t/notes.cassette.json" "$tmp/t/notes.test.json" || fail "a key was written"

# Offline: the server is stopped, no key and no endpoint; the replay passes.
kill "$srv_pid"
wait "$srv_pid" 2>/dev/null
run env -u ANTHROPIC_API_KEY -u OPENAI_API_KEY ANTHROPIC_BASE_URL=http://127.0.0.1:9 \
  OPENAI_BASE_URL=http://127.0.0.1:9 "$WEFT" test "$tmp/t"
expect_rc 0 "the replay of the recorded cassette: $out"
expect_out "1 passed, 0 failed"

# An edited prompt no longer fits the cassette: the test fails at the call.
sed 's/note about/remark on/' "$tmp/t/notes.weft" >"$tmp/t/edited.weft"
sed 's/"notes.weft"/"edited.weft"/' "$tmp/t/notes.test.json" >"$tmp/t/edited.test.json"
run "$WEFT" test "$tmp/t/edited.test.json"
expect_rc 1 "a cassette that does not fit"
expect_out "main/ask#1"
expect_out "the prompt changed"
expect_out "0 passed, 1 failed"

for o in "$out" "$err"; do
  case "$o" in *SECRET*) fail "a key in the output: $o" ;; esac
done
