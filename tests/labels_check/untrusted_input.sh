# --untrusted-input=NAME: main's parameter NAME is untrusted text for the
# checker. The raw triage program (the clerk reads the message and its
# tool puts free text in a path) is refused with the diagnostic in
# data/triage_raw.stderr; the example that extracts a closed record first
# checks clean, and --caps says which inputs were taken as untrusted.
. "$TESTDIR/../lib/common.sh"
EX="$TESTDIR/../../examples"

cd "$DATA" || exit 1
run "$WEFT" check --color=never triage_raw.weft
expect_rc 0 "without --untrusted-input the messages are the operator's"
"$WEFT" check --color=never --untrusted-input=messages triage_raw.weft 2>"$tmp/got.stderr"
rc=$?
[ "$rc" = 1 ] || fail "raw message text reaching a tool's path: exit $rc"
diff -u triage_raw.stderr "$tmp/got.stderr" >&2 || fail "the diagnostic differs from triage_raw.stderr"
run "$WEFT" check --json --untrusted-input=messages triage_raw.weft
expect_out '"code":"E0650"'
expect_out '"code":"N0002"'
# the flag names another input: nothing is untrusted
run "$WEFT" check --untrusted-input=other triage_raw.weft
expect_rc 0 "an input of another name"
run "$WEFT" check --untrusted-input= triage_raw.weft
expect_rc 2 "an empty name"

cd "$EX" || exit 1
run "$WEFT" check --untrusted-input=messages message_triage.weft
expect_rc 0 "the example with closed types between the message and the tool"
[ -z "$err" ] || fail "the example is not clean: $err"
run "$WEFT" check --caps --untrusted-input=messages message_triage.weft
expect_rc 0 "--caps"
expect_out "untrusted inputs: messages (--untrusted-input)"
run "$WEFT" check --caps message_triage.weft
expect_out "untrusted inputs: none named"
run "$WEFT" check --caps --json --untrusted-input=messages --untrusted-input=other message_triage.weft
expect_out '"untrusted_inputs":["messages","other"]'

# every example checks clean with every main input untrusted
for f in *.weft; do
  run "$WEFT" check --untrusted-input=messages --untrusted-input=tickets --untrusted-input=text \
    --untrusted-input=input --untrusted-input=topic --untrusted-input=dir "$f"
  [ "$rc" -le 1 ] || fail "$f: exit $rc"
  contains "$err" "E0650" && fail "$f: $err"
done

# a main input of a closed type carries no text
cat >"$tmp/closed.weft" <<'W'
import "std/fs" as fs
fn main(n: int, kind: "a" | "b", name: string) {
  fs.write("/tmp/{n}-{kind}", "x")
  fs.write(name, "x")
}
W
run "$WEFT" check --color=never --untrusted-input=n --untrusted-input=kind "$tmp/closed.weft"
expect_rc 0 "closed main inputs"
run "$WEFT" check --color=never --untrusted-input=name "$tmp/closed.weft"
expect_rc 1 "a string main input reaching a path"
expect_err "error[E0650]"
expect_err "main's input \`name\` (--untrusted-input)"
exit 0
