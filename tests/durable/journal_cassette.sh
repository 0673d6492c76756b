# Cassettes: --record F writes a run's effects; --replay F answers them
# with no network and gives the same result; recording twice gives the
# same bytes; no API key is written; an edited prompt fails the replay
# naming the address; damaged cassettes (truncated, not JSON, missing
# fields, a newer format) are refused with one line, exit 2; --record and
# --replay of one file are refused; a resume records every effect of the
# run, also those the journal answered.
. "$TESTDIR/../lib/server.sh"
export WEFT_JOURNAL="$tmp/j.db"

cat >"$tmp/prog.weft" <<'EOF_W'
type Verdict = { label: "bug" | "feature", confidence: float }
role writer { model: "openai/gpt-4o-mini" }
role judge { model: "anthropic/claude-haiku-4-5" }
fn main(topic: string = "crash on start") -> string {
  let t = fanout i in range(3) {
    ask writer "note {i} about {topic}"
  }
  let v = ask judge "classify: {topic}" -> Verdict
  join(barrier t, " | ") + " => " + v.label
}
EOF_W
C="$tmp/c.json"
reset_stats
run "$WEFT" run "$tmp/prog.weft" --record "$C"
expect_rc 0 "the recorded run"
want=$out
case "$want" in '"echo: note 0 about crash on start | '*' => bug"') ;; *) fail "the recorded run gave $want" ;; esac
[ "$(attempts)" = 4 ] || fail "the recorded run sent $(attempts) requests"
[ -s "$C" ] || fail "--record wrote no cassette"
[ ! -e "$C.tmp" ] || fail "--record left $C.tmp behind"

# The file: format 1, the program, four effects ordered by address, no timings.
"$PY" - "$C" <<'EOF_P' || fail "the cassette's shape: $(cat "$C")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["weft_cassette"] == 1, d
assert d["program"].endswith("prog.weft"), d["program"]
es = d["effects"]
addrs = [e["addr"] for e in es]
assert addrs == sorted(addrs) and len(addrs) == 4, addrs
assert addrs[0] == "main/ask#2", addrs
for e in es:
    assert e["kind"] == "ask" and e["ok"] is True and isinstance(e["response"], str), e
    assert len(e["req_hash"]) == 16, e
    assert not any("_at" in k for k in e), e
judge = es[0]
assert judge["request"]["model"] == "anthropic/claude-haiku-4-5", judge
assert "schema" in judge["request"], judge
assert json.loads(judge["response"])["label"] == "bug", judge
EOF_P

# No key in the cassette or the journal (the server's dummy keys hold SECRET).
! grep -q SECRET "$C" || fail "the cassette holds an API key"
! grep -aq SECRET "$WEFT_JOURNAL" || fail "the journal holds an API key"

# Stable: recording the same run again gives the same bytes.
run "$WEFT" run "$tmp/prog.weft" --record "$tmp/again.json" --quiet
expect_rc 0 "the second recording"
cmp -s "$C" "$tmp/again.json" || fail "two recordings differ: $(diff "$C" "$tmp/again.json")"

# ---- --replay: the same result with no network ---------------------------------
reset_stats
run env ANTHROPIC_BASE_URL=http://127.0.0.1:9 OPENAI_BASE_URL=http://127.0.0.1:9 \
  "$WEFT" run "$tmp/prog.weft" --replay "$C"
expect_rc 0 "--replay"
[ "$out" = "$want" ] || fail "--replay gave $out, the recording $want"
expect_err "4 calls (0 failed, 4 replayed)"
[ "$(attempts)" = 0 ] || fail "--replay sent $(attempts) requests"
# a replayed run is recorded again with the same effects
run env ANTHROPIC_BASE_URL=http://127.0.0.1:9 OPENAI_BASE_URL=http://127.0.0.1:9 \
  "$WEFT" run "$tmp/prog.weft" --replay "$C" --record "$tmp/rerecord.json" --quiet
expect_rc 0 "--replay with --record"
cmp -s "$C" "$tmp/rerecord.json" || fail "recording a replay changed the cassette: $(diff "$C" "$tmp/rerecord.json")"

# ---- an edited prompt, another input --------------------------------------------
sed 's/note {i} about/remark {i} on/' "$tmp/prog.weft" >"$tmp/edited.weft"
run "$WEFT" run "$tmp/edited.weft" --replay "$C"
expect_rc 1 "--replay of an edited prompt"
expect_err "replay: ask writer at main/fanout#1@5[0]/ask#1 differs from the call cassette $C recorded: the prompt changed"
expect_no_out "--replay of an edited prompt"
run "$WEFT" run "$tmp/prog.weft" --replay "$C" --arg "topic=slow page"
expect_rc 1 "--replay with another input"
expect_err "differs from the call cassette $C recorded: the prompt changed"
[ "$(attempts)" = 0 ] || fail "the failed replays sent $(attempts) requests"

# ---- damaged cassettes ----------------------------------------------------------
# damaged NAME WORDS...: --replay NAME.json is refused: one line with WORDS, exit 2.
damaged() {
  f="$tmp/$1.json"
  shift
  run "$WEFT" run "$tmp/prog.weft" --replay "$f"
  expect_no_crash "--replay $f"
  expect_rc 2 "--replay $f"
  [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "--replay $f: not one line: $err"
  for w in "$@"; do expect_err "$w"; done
  expect_no_out "--replay $f"
}
# edit NAME PYTHON: NAME.json is the cassette after PYTHON ran on d (its JSON).
edit() {
  "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"))' "$C" "$tmp/$1.json" "$2" || fail "cannot make $1.json"
}
size=$(wc -c <"$C")
head -c $((size / 2)) "$C" >"$tmp/half.json"
damaged half "--replay: '$tmp/half.json': not JSON (a truncated or damaged file?)"
printf 'these are not the effects you are looking for\n' >"$tmp/text.json"
damaged text "--replay: '$tmp/text.json': not JSON"
: >"$tmp/empty.json"
damaged empty "--replay: '$tmp/empty.json': not JSON"
damaged nothing "--replay: cannot read '$tmp/nothing.json': No such file or directory"
edit v99 'd["weft_cassette"] = 99'
damaged v99 "--replay: '$tmp/v99.json' is a cassette of format 99; this weft reads format 1 and older (upgrade weft)"
edit nover 'del d["weft_cassette"]'
damaged nover "'$tmp/nover.json': not a weft cassette (no \"weft_cassette\" version)"
edit array 'd = [d]'
damaged array "'$tmp/array.json': not a weft cassette"
edit noeffects 'del d["effects"]'
damaged noeffects "'$tmp/noeffects.json': no \"effects\" list"
for field in addr kind request req_hash ok response; do
  edit "no_$field" "del d['effects'][2]['$field']"
  damaged "no_$field" "'$tmp/no_$field.json': effect 2 is incomplete" "needs addr, kind, request, req_hash, ok"
done
edit badhash 'd["effects"][1]["req_hash"] = "not-a-hash"'
damaged badhash "effect 1 is incomplete"
edit failed_no_error 'd["effects"][0]["ok"] = False; del d["effects"][0]["response"]'
damaged failed_no_error "effect 0 is incomplete"
edit not_object 'd["effects"][3] = 7'
damaged not_object "effect 3 is incomplete"
# a recorded failure needs its error, and is then answered as a failure
edit failure 'd["effects"][0].update(ok=False, error="the judge is out", error_kind="error"); del d["effects"][0]["response"]'
run "$WEFT" run "$tmp/prog.weft" --replay "$tmp/failure.json"
expect_rc 1 "--replay of a recorded failure"
expect_err "error: the judge is out"

# ---- --record and --replay of one file ----------------------------------------------
cp "$C" "$tmp/same.json"
run "$WEFT" run "$tmp/prog.weft" --replay "$tmp/same.json" --record "$tmp/same.json"
expect_rc 2 "--record and --replay of one file"
expect_err "--record and --replay name the same file '$tmp/same.json'"
cmp -s "$C" "$tmp/same.json" || fail "the refused run changed the cassette"

# ---- the checks below run even when one fails ----------------------------------
ok=0
# The same file under two spellings is still one file, and a replay that
# fails must not overwrite the cassette it replays.
(
  cd "$tmp" || exit 1
  run "$WEFT" run edited.weft --replay same.json --record ./same.json
  expect_rc 2 "--record ./F and --replay F"
  expect_err "--record and --replay name the same file"
  cmp -s "$C" same.json || fail "--record ./same.json overwrote the replayed cassette"
) || ok=1
# Offline needs no key: --replay answers every ask, so it must not ask for
# the API keys only a live call uses.
(
  reset_stats
  run env -u ANTHROPIC_API_KEY -u OPENAI_API_KEY ANTHROPIC_BASE_URL=http://127.0.0.1:9 \
    OPENAI_BASE_URL=http://127.0.0.1:9 "$WEFT" run "$tmp/prog.weft" --replay "$C"
  expect_rc 0 "--replay without API keys"
  [ "$out" = "$want" ] || fail "--replay without API keys gave $out"
  [ "$(attempts)" = 0 ] || fail "--replay without API keys sent $(attempts) requests"
) || ok=1
# A resume records every effect of the run, the sleeps and asks the
# journal answered too: its cassette is the uninterrupted run's.
(
  cat >"$tmp/slow.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() -> list[string] {
  let t = fanout i in range(24) limit 2 {
    sleep(200ms)
    ask r "item {i}"
  }
  barrier t
}
EOF_W
  run "$WEFT" run "$tmp/slow.weft" --provider mock --record "$tmp/whole.json" --quiet
  expect_rc 0 "the uninterrupted slow run"
  K="$tmp/k.db"
  "$WEFT" run "$tmp/slow.weft" --provider mock --journal "$K" --quiet >/dev/null 2>&1 &
  kpid=$!
  n=0
  until "$WEFT" runs --journal "$K" --json 2>/dev/null | "$PY" -c 'import json, sys
sys.exit(0 if json.load(sys.stdin)[0]["calls"] >= 2 else 1)' 2>/dev/null; do
    n=$((n + 1))
    [ "$n" -lt 400 ] || { kill -9 "$kpid"; fail "the slow run never made 2 calls"; }
    sleep 0.025
  done
  kill -9 "$kpid"
  wait "$kpid" 2>/dev/null
  run "$WEFT" resume 1 --journal "$K" --record "$tmp/resumed.json" --quiet
  expect_rc 0 "resume --record"
  cmp -s "$tmp/whole.json" "$tmp/resumed.json" ||
    fail "resume --record differs from the uninterrupted run's cassette:
$(diff "$tmp/whole.json" "$tmp/resumed.json" | head -n 20)"
) || ok=1
# A cassette that cannot be written fails the run (exit 1) and names it;
# no half file is left where it should have been.
(
  printf 'role w { model: "mock/m" }\nfn main() -> string { ask w "hi" }\n' >"$tmp/rec.weft"
  run "$WEFT" run "$tmp/rec.weft" --no-journal --record "$tmp/no-such-dir/c.json"
  expect_rc 1 "--record into a missing directory"
  expect_out "mock reply"
  expect_err "--record: cannot write '$tmp/no-such-dir/c.json'"
  [ ! -e "$tmp/no-such-dir" ] || fail "--record created something"
) || ok=1
exit "$ok"
