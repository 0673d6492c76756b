# weft test passes the worked example of docs/testing.md
# (examples/review), finds *.test.json files beneath a directory (sorted,
# hidden entries skipped, other files ignored), takes the current
# directory when no PATH is given, and reports nothing found as a usage
# error.
. "$TESTDIR/../lib/common.sh"
EX="$TESTDIR/../../examples"

run "$WEFT" test "$EX"
expect_rc 0 "weft test examples/: $out"
expect_out "test $EX/review/review.test.json: an overflow blocks the merge ... ok"
expect_out "3 passed, 0 failed"

# a tree: two test files in nested folders, one hidden, one not a test file
mkdir -p "$tmp/w/b/deep" "$tmp/w/a" "$tmp/w/.hidden"
cp "$DATA/review.weft" "$DATA/review.mock.json" "$tmp/w/b/deep/"
cp "$DATA/review.weft" "$DATA/review.mock.json" "$tmp/w/a/"
t='{"name": "NAME", "program": "review.weft", "args": {"change": "+ strcpy(a, b);"},
    "mock": "review.mock.json", "expect": {"calls": 2}}'
printf '%s\n' "$t" | sed 's/NAME/deep one/' >"$tmp/w/b/deep/x.test.json"
printf '%s\n' "$t" | sed 's/NAME/first/' >"$tmp/w/a/y.test.json"
printf '%s\n' "$t" | sed 's/NAME/hidden/' >"$tmp/w/.hidden/z.test.json"
echo 'not a test' >"$tmp/w/a/notes.json"
run "$WEFT" test "$tmp/w"
expect_rc 0 "the walk: $out"
first=$(printf '%s\n' "$out" | grep -n 'first ... ok' | cut -d: -f1)
deep=$(printf '%s\n' "$out" | grep -n 'deep one ... ok' | cut -d: -f1)
[ -n "$first" ] && [ -n "$deep" ] && [ "$first" -lt "$deep" ] || fail "the walk's order: $out"
contains "$out" hidden && fail "a hidden folder was searched: $out"
expect_out "2 passed, 0 failed"

# no PATH: the current directory
(cd "$tmp/w/a" && "$WEFT" test >"$tmp/o" 2>&1) || fail "weft test in a folder: $(cat "$tmp/o")"
grep -q "1 passed, 0 failed" "$tmp/o" || fail "weft test without PATH: $(cat "$tmp/o")"

# --quiet: only failures and the summary
run "$WEFT" test --quiet "$tmp/w"
expect_rc 0 "--quiet"
contains "$out" "... ok" && fail "--quiet listed passing tests: $out"
expect_out "2 passed, 0 failed"

# nothing to run is a usage error, and so is an unknown format
mkdir "$tmp/empty"
run "$WEFT" test "$tmp/empty"
expect_rc 2 "no test files"
expect_err "no test files found"
run "$WEFT" test --format=xml "$tmp/w"
expect_rc 2 "--format=xml"
expect_err "--format must be text, tap or junit, not 'xml'"
