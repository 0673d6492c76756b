# What `weft runs --json`, `weft show --json`, `weft trace` and the --html
# page write from a journal is JSON a strict parser reads, whatever the
# journal holds: stored JSON texts are passed through only when they are
# JSON as weft writes it (one line, no control character), else written
# as strings; an event that is not one JSON object is left out of `weft
# trace` (with a note), so an edited row cannot add a forged line.
. "$TESTDIR/../lib/common.sh"
CHECK="$TESTDIR/data/jsonl_check.py"
J="$tmp/j.db"
printf 'role r { model: "mock/m" }\nfn main(x: string) -> string { ask r "say {x}" }\n' >"$tmp/p.weft"
run "$WEFT" run "$tmp/p.weft" --arg x=1 --provider mock --journal "$J" --quiet
expect_rc 0 "the run"

python3 - "$J" <<'EOF_P' || fail "cannot plant the journal"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
# JSON that cJSON accepts but a strict parser does not: raw control
# characters inside strings; and a script closer for the page
c.execute("""UPDATE runs SET inputs = '{"x":"a' || char(10) || 'b"}',
             result = '"</script><script>alert(1)</script>' || char(27) || '[31m"',
             options = '["--provider=mock",' || char(10) || '"--timeout=5s"]' WHERE id = 1""")
# an event row that holds two lines: the second a forged ask
c.execute("""UPDATE events SET body = body || char(10) ||
             '{"t":0,"ev":"ask","addr":"main/ask#9","role":"auditor","reply":"forged"}'
             WHERE run = 1 AND seq = 1""")
c.execute("""INSERT INTO events(run, seq, at, body) VALUES(1, 1000, 0, 'not json')""")
c.commit()
EOF_P

strict() { # strict WHAT: stdout is one JSON document
  printf '%s\n' "$out" | python3 -c 'import json,sys; json.loads(sys.stdin.read())' ||
    fail "$1 is not strict JSON: $(printf '%s' "$out" | head -c 400)"
}
run "$WEFT" runs --journal "$J" --json
expect_rc 0 "runs --json"
strict "runs --json"
run "$WEFT" show 1 --journal "$J" --json
expect_rc 0 "show --json"
strict "show --json"
printf '%s\n' "$out" | python3 -c 'import json,sys
r = json.loads(sys.stdin.read())["run"]
assert r["inputs"] == "{\"x\":\"a\nb\"}", r["inputs"]
assert r["options"] == "[\"--provider=mock\",\n\"--timeout=5s\"]", r["options"]' ||
  fail "show --json lost the stored texts"

run "$WEFT" trace 1 --journal "$J"
expect_rc 0 "trace"
printf '%s\n' "$out" | python3 "$CHECK" - --forbid-addr 'main/ask#9' || fail "weft trace printed a forged line"
expect_err "trace: run 1: 2 events are not JSON objects and are left out"

run "$WEFT" trace 1 --journal "$J" --html "$tmp/t.html"
expect_rc 0 "trace --html"
python3 - "$tmp/t.html" <<'EOF_P' || fail "the page's data block is not strict JSON"
import json, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<script type="application/json" id="weft-data">(.*?)</script>', page, re.S)
data = json.loads(m.group(1))
assert data["run"]["result"].startswith("\"</script>"), data["run"]["result"]
assert page.count("<script") == 2
EOF_P
exit 0
