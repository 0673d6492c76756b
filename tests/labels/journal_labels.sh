# Labels through the journal (docs/durable.md, docs/security.md "Untrusted
# content: sources, sinks and the journal"): a capability result is
# journaled with its label, and a run answered from a record — a resume
# after kill -9, a replay, a cassette — labels it with the JOIN of the
# label it computes itself and the record's. So a resume under grants that
# would no longer label a file read keeps the recorded label, and a planted
# journal or cassette whose labels were removed launders nothing: the sink
# is still refused and nothing is written.
WEB_ROOT=tmp
. "$TESTDIR/../lib/web.sh"

command -v sqlite3 >/dev/null 2>&1 || fail "sqlite3 is missing"
mkdir -p "$tmp/out" "$tmp/in"
printf '%s' "$tmp/out/pwned" >"$WEB_ROOT/path.txt"
printf '%s' "$tmp/out/pwned" >"$tmp/in/path.txt"
cat >"$tmp/j.weft" <<'EOF_W'
import "std/http" as http
import "std/fs" as fs
fn w(path: string) -> bool {
  fs.write(path, "x")
  true
}
fn show(what: string, r: result[bool]) {
  match r {
    Ok { value: _ } => print("{what}: written"),
    Failed { error } => print("{what}: {error.kind}: {error.message}"),
  }
}
fn main(base: string, dir: string, nap: duration) {
  let page = http.get("{base}/files/path.txt")
  let f = fs.read("{dir}/in/path.txt")
  print("got")
  sleep(nap)
  show("page", try [w][0](page.body))
  show("file", try [w][0](f))
}
EOF_W
J="$tmp/j.db"
B="the body of http.request at main/http.request#1"
F="the result of fs.read at main/fs.read#2"
HINT='; pass it through a closed type or trust(x, "why")'
net="--allow-net=127.0.0.1:$WPORT"
args="--arg base=$WBASE --arg dir=$tmp"
both_refused() { # WHAT
  expect_out "page: untrusted: fs.write: path is untrusted text (from $B)$HINT"
  expect_out "file: untrusted: fs.write: path is untrusted text (from $F)$HINT"
  [ ! -e "$tmp/out/pwned" ] || fail "$1: a refused write happened"
}
fetched() { weblog | grep -o '"/files/path.txt"' | wc -l; }

# a run killed in its sleep, after both sources were journaled
start_and_kill() { # NAP
  "$WEFT" run "$tmp/j.weft" --journal "$J" $net --allow-write="$tmp/out" \
    --allow-read-untrusted="$tmp/in" $args --arg "nap=$1" >"$tmp/bg.out" 2>"$tmp/bg.err" &
  pid=$!
  i=0
  until grep -q got "$tmp/bg.out" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -le 200 ] || fail "the run did not get its sources: $(cat "$tmp/bg.err")"
    sleep 0.05
  done
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
}
start_and_kill 2s
# the journal holds the labels with the values
lab=$(sqlite3 "$J" "SELECT label FROM effects WHERE run = 1 AND kind = 'cap' ORDER BY addr")
contains "$lab" "$F" || fail "the journal lacks the file's label: $lab"
contains "$lab" "$B" || fail "the journal lacks the body's label: $lab"
[ "$(fetched)" = 1 ] || fail "expected one fetch, the server saw $(fetched)"

# resumed under a plain read grant: the record's label stays
run "$WEFT" resume 1 --journal "$J" $net --allow-write="$tmp/out" --allow-read="$tmp/in"
expect_rc 0 "resume"
both_refused "resume"
[ "$(fetched)" = 1 ] || fail "the resume fetched the page again"

# a replay answers everything from the journal: still refused
run "$WEFT" replay 1 --journal "$J"
expect_rc 0 "replay"
both_refused "replay"

# a planted journal: labels removed from a killed run's records; the
# resume computes them again (the body always, the file under its grant)
start_and_kill 2s
sqlite3 "$J" "UPDATE effects SET label = NULL WHERE run = 2" || fail "cannot plant the journal"
run "$WEFT" resume 2 --journal "$J" $net --allow-write="$tmp/out" --allow-read-untrusted="$tmp/in"
expect_rc 0 "planted resume"
both_refused "planted resume"
# and a replay of it still refuses the body (a response is always untrusted)
run "$WEFT" replay 2 --journal "$J"
expect_out "page: untrusted: fs.write: path is untrusted text (from $B)$HINT"

# a planted label is only ever added, cut short and without control bytes
start_and_kill 2s
python3 - "$J" <<'EOF_P' || fail "cannot plant the label"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE effects SET label = ? WHERE run = 3 AND addr = 'main/fs.read#2'",
           ("planted\x1b[31m\n" + "\u00e9" * 400,))
db.commit()
EOF_P
run "$WEFT" resume 3 --journal "$J" $net --allow-write="$tmp/out" --allow-read="$tmp/in"
expect_rc 0 "planted label"
expect_out "file: untrusted: fs.write: path is untrusted text (from planted?[31m?"
contains "$out" "$(printf '\033')" && fail "a control byte of a planted label reached the output"
line=$(printf '%s\n' "$out" | grep '^file:')
[ "${#line}" -lt 400 ] || fail "the planted label was not cut: ${#line} characters"
[ ! -e "$tmp/out/pwned" ] || fail "planted label: a refused write happened"

# cassettes: recorded with the labels, replayed under a plain read grant
run "$WEFT" run "$tmp/j.weft" --no-journal --record "$tmp/c.json" $net --allow-write="$tmp/out" \
  --allow-read-untrusted="$tmp/in" $args --arg nap=0s
expect_rc 0 "record"
both_refused "record"
grep -q '"label"' "$tmp/c.json" || fail "the cassette holds no label: $(cat "$tmp/c.json")"
run "$WEFT" run "$tmp/j.weft" --no-journal --replay "$tmp/c.json" --allow-write="$tmp/out" \
  --allow-read="$tmp/in" $args --arg nap=0s
expect_rc 0 "cassette"
both_refused "cassette"
# a cassette stripped of its labels launders nothing the grants label
python3 - "$tmp/c.json" <<'EOF_P' || fail "cannot plant the cassette"
import json, sys
d = json.load(open(sys.argv[1]))
for e in d["effects"]:
    e.pop("label", None)
json.dump(d, open(sys.argv[1], "w"))
EOF_P
run "$WEFT" run "$tmp/j.weft" --no-journal --replay "$tmp/c.json" --allow-write="$tmp/out" \
  --allow-read-untrusted="$tmp/in" $args --arg nap=0s
expect_rc 0 "stripped cassette"
both_refused "stripped cassette"
exit 0
