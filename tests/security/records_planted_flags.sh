# A run's recorded flags are data: `weft replay` and `weft resume` never
# take a file from the journal. A planted journal whose flags name an
# output (--trace, --record, --journal) or another input (--input,
# --program, --replay, --arg) is refused before anything is opened; a
# recorded --prices or --mock-script only says that the run had one, and
# the operator names the file again. The planted paths are FIFOs where
# possible: opening one would block, so a hang (timeout) means weft opened
# a path the journal named.
. "$TESTDIR/../lib/common.sh"
J="$tmp/j.db"
cat >"$tmp/p.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() -> int {
  let a = ask r "one" -> int
  let b = ask r "two" -> int
  a + b
}
EOF_W
printf '{"replies": [{"match": "one", "value": 1}, {"match": "two", "value": 2}]}\n' >"$tmp/good.json"
printf '{"replies": [{"match": "one", "value": 1}, {"match": "two", "reply": "no"}]}\n' >"$tmp/bad.json"
printf '{"mock/m": {"input": 1000000, "output": 1000000}}\n' >"$tmp/prices.json"
mkfifo "$tmp/fifo" || fail "mkfifo"

run "$WEFT" run "$tmp/p.weft" --provider mock --mock-script "$tmp/good.json" --journal "$J" --quiet
expect_rc 0 "the first run"
[ "$out" = 3 ] || fail "the first run gave $out"

# plant ID STATUS FLAG...: sets run ID's status and recorded flags.
plant() {
  python3 - "$J" "$@" <<'EOF_P' || fail "cannot plant the journal"
import json, sqlite3, sys
db, rid, status, flags = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
c = sqlite3.connect(db)
c.execute("UPDATE runs SET status = ?, options = ? WHERE id = ?", (status, json.dumps(flags), rid))
c.commit()
EOF_P
}
# weft_t ARGS...: weft with a time limit; a hang on a FIFO is exit 124.
weft_t() {
  run timeout 20 "$WEFT" "$@"
  [ "$rc" != 124 ] || fail "weft $* blocked: it opened a path from the journal"
}

# ---- flags a run never records: refused, and nothing is written --------------
for flag in "--trace=$tmp/out.jsonl" "--record=$tmp/out.json" "--journal=$tmp/other.db" \
            "--program=$tmp/fifo" "--input=$tmp/fifo" "--replay=$tmp/fifo" "--arg=x=1" \
            "$tmp/fifo" "--json" "--color=always" "--check" "--force"; do
  for cmd in replay resume; do
    [ "$cmd" = replay ] && plant 1 ok --provider=mock "$flag" || plant 1 failed --provider=mock "$flag"
    weft_t "$cmd" 1 --journal "$J" --quiet
    expect_rc 2 "$cmd with a planted '$flag'"
    expect_err "run 1: its recorded flags are damaged"
    expect_no_out "$cmd with a planted '$flag'"
    for f in out.jsonl out.json other.db; do
      [ ! -e "$tmp/$f" ] || fail "$cmd with a planted '$flag' wrote $f"
    done
  done
done
# The three at once, as a planted journal would have them.
plant 1 ok "--trace=$tmp/x" --prices=/etc/passwd --mock-script=/proc/self/environ
weft_t replay 1 --journal "$J"
expect_rc 2 "replay of the planted run"
expect_err "run 1: its recorded flags are damaged"
[ ! -e "$tmp/x" ] || fail "the planted --trace was written"

# ---- --prices and --mock-script: the operator names the file again -------------
plant 1 ok --provider=mock "--prices=$tmp/fifo" "--mock-script=$tmp/fifo"
weft_t replay 1 --journal "$J"
expect_rc 2 "replay of a run priced from a file, without --prices"
expect_err "replay: run 1 was started with --prices; name the file again (--prices FILE): a replay never reads a file named in the journal"
weft_t replay 1 --journal "$J" --prices "$tmp/prices.json" --json
expect_rc 0 "replay with --prices given again"
contains "$out" '"cost_usd":0,' && fail "the replay did not use the given prices: $out"
contains "$out" '"result":3' || fail "the replay gave $out"
# a replay answers every call from the journal: the mock script is not needed
plant 1 ok --provider=mock --prices=/etc/passwd "--mock-script=$tmp/fifo"
weft_t replay 1 --journal "$J" --prices "$tmp/prices.json"
expect_rc 0 "replay without the mock script"
[ "$out" = 3 ] || fail "the replay gave $out"

plant 1 failed --provider=mock --mock-script=/proc/self/environ
weft_t resume 1 --journal "$J"
expect_rc 2 "resume of a scripted run without --mock-script"
expect_err "resume: run 1 was started with --mock-script; name the file again (--mock-script FILE): a resume never reads a file named in the journal"
expect_no_out "the refused resume"
[ "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select status, resumes from runs where id=1").fetchone())' "$J")" = "('failed', 0)" ] ||
  fail "the refused resume changed run 1"

# ---- a real run: the script's name is not recorded, and resume needs it ---------
run "$WEFT" run "$tmp/p.weft" --provider mock --mock-script "$tmp/bad.json" --repairs 0 --journal "$J" --quiet
expect_rc 1 "the run whose second ask fails"
opts=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select options from runs where id=2").fetchone()[0])' "$J")
[ "$opts" = '["--provider=mock","--mock-script","--repairs=0"]' ] || fail "recorded flags: $opts"
contains "$opts" "$tmp" && fail "a path was recorded: $opts"
weft_t resume 2 --journal "$J" --quiet
expect_rc 2 "resume without the script"
expect_err "name the file again (--mock-script FILE)"
weft_t resume 2 --journal "$J" --quiet --mock-script "$tmp/good.json"
expect_rc 0 "resume with the script named again"
[ "$out" = 3 ] || fail "the resume gave $out"
exit 0
