# weft save keeps what a model wrote: the file is the program exactly as it
# ran (formatted, headed by its task), `weft run` runs it, and with --test
# a `weft test` case with the run's cassette passes offline. Refusals: no
# such run, a run with no generated program, an existing file, not .weft.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1
run "$WEFT" do "Summarize the input" --planner mock/planner --yes --input /dev/null
expect_rc 0 "do"
result=$out
run "$WEFT" save 1 "$tmp/t.weft" --test
expect_rc 0 "save --test"
expect_err "saved $tmp/t.weft, its test $tmp/t.test.json"
head -2 "$tmp/t.weft" | grep -q "//   Summarize the input" || fail "the task is not the program's heading: $(head -3 "$tmp/t.weft")"
run "$WEFT" fmt --check "$tmp/t.weft"
expect_rc 0 "the saved program is in the canonical layout"
run "$WEFT" check "$tmp/t.weft"
expect_rc 0 "the saved program checks"
run "$WEFT" test "$tmp/t.test.json"
expect_rc 0 "weft test of the saved run: $out"
expect_out "1 passed, 0 failed"
grep -q '"main/ask#1"' "$tmp/t.cassette.json" || fail "the cassette's addresses are not the file's: $(cat "$tmp/t.cassette.json")"
grep -q 'generate' "$tmp/t.cassette.json" && fail "the planner's call is in the template's cassette"
# the test judges: a changed program fails it
sed 's/Do this task/Do that task/' "$tmp/t.weft" >"$tmp/t2.weft" && mv "$tmp/t2.weft" "$tmp/t.weft"
run "$WEFT" test "$tmp/t.test.json"
expect_rc 1 "the test of a changed program"
# refusals
run "$WEFT" save 1 "$tmp/t.weft"
expect_rc 2 "an existing file"
expect_err "exists; give --force"
run "$WEFT" save 1 "$tmp/t.weft" --force
expect_rc 0 "--force"
run "$WEFT" save 1 "$tmp/t.txt"
expect_rc 2 "not .weft"
run "$WEFT" save 9 "$tmp/u.weft"
expect_rc 2 "no such run"
printf 'fn main() -> int { 1 }\n' >"$tmp/plain.weft"
run "$WEFT" run "$tmp/plain.weft"
run "$WEFT" save 2 "$tmp/u.weft"
expect_rc 2 "a run with no generated program"
expect_err "has no program a model wrote"
[ -e "$tmp/u.weft" ] && fail "a file was written for a run with no program"
exit 0
