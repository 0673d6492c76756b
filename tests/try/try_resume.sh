# A failed ask caught by `try` is part of the run's history: replay answers
# it from the journal, and a resume of the run (which failed later, on an
# ask outside any try) answers it again as a failure, so the resumed run
# takes the same path; only the uncaught failed ask goes out again.
. "$TESTDIR/../lib/common.sh"
J="$tmp/j.db"
cat >"$tmp/p.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() {
  let a = try ask r "first"
  match a {
    Ok { value } => print("first ok {value}"),
    Failed { error } => print("first failed at {error.address}"),
  }
  print(ask r "second")
}
EOF_W
printf '{"replies": [{"fail": "auth"}]}\n' >"$tmp/auth.json"
run "$WEFT" run "$tmp/p.weft" --mock-script "$tmp/auth.json" --journal "$J"
expect_rc 1 "the second ask fails the run"
[ "$out" = "first failed at main/ask#1" ] || fail "first run gave $out"
run "$WEFT" replay 1 --journal "$J"
expect_rc 1 "replay fails where the run failed"
[ "$out" = "first failed at main/ask#1" ] || fail "replay gave $out"
# every ask would now be answered: only the uncaught one is sent
printf '{"replies": [{"reply": "fine"}]}\n' >"$tmp/fixed.json"
run "$WEFT" resume 1 --journal "$J" --mock-script "$tmp/fixed.json"
expect_rc 0 "resume"
[ "$out" = "first failed at main/ask#1
fine" ] || fail "resume gave $out"
exit 0
