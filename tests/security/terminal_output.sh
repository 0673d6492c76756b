# Terminal injection through a model reply: a mock reply carrying OSC 52
# (clipboard write), an OSC 0 title change, SGR colours, a CR line
# overwrite, U+202E and the 8-bit CSI U+009B reaches print, log and fail.
# stdout and stderr hold no raw control or bidi character but show each in
# its escaped form; `weft show`, `weft runs` and `weft trace` of the
# journaled run likewise; --json output decodes to the exact text; and
# --raw-output gives print's exact bytes for a pipeline.
. "$TESTDIR/../lib/common.sh"
command -v python3 >/dev/null 2>&1 || fail "python3 is missing (./bootstrap installs it)"
# The interpreter itself, not a wrapper script (pyenv shims are slow).
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "python3 does not run"
CHECK="$PY $TESTDIR/data/terminal_check.py"
J="$tmp/j.db"

clean() { $CHECK clean "$@" || fail "raw terminal control in output (see above)"; }
has() { grep -qF -- "$2" "$1" || fail "$3: the escaped form '$2' is not shown"; }
escaped() { # FILE WHAT: every hostile piece is shown escaped
  has "$1" '\x1b]52;c;cHduZWQ=\x07' "$2"
  has "$1" '\x1b]0;pwned\x07' "$2"
  has "$1" '\x1b[31mred\x1b[0m' "$2"
  has "$1" 'D\x0dover' "$2"
  has "$1" '\u{202e}E' "$2"
  has "$1" '\u{9b}2J' "$2"
}

cat >"$tmp/h.weft" <<'EOF_W'
role r { model: "mock/m" }
fn main() {
  let s = ask r "hostile"
  print(s)
  log(s)
  fail(s)
}
EOF_W
cat >"$tmp/mock.json" <<'EOF_J'
{"replies": [{"value": "A\u001b]52;c;cHduZWQ=\u0007B\u001b]0;pwned\u0007C\u001b[31mred\u001b[0mD\rover\u202eE\u009b2J"}]}
EOF_J
# the reply exactly, for the --json comparisons
printf 'A\033]52;c;cHduZWQ=\007B\033]0;pwned\007C\033[31mred\033[0mD\rover\342\200\256E\302\2332J' >"$tmp/want"

# print (stdout), log and fail (stderr), on a run that is not a terminal
"$WEFT" run "$tmp/h.weft" --provider mock --mock-script "$tmp/mock.json" --journal "$J" \
  >"$tmp/o" 2>"$tmp/e" </dev/null
rc=$?
[ "$rc" = 1 ] || fail "the run should fail (fail(s)), exit $rc"
clean "$tmp/o" "$tmp/e"
escaped "$tmp/o" "print"
escaped "$tmp/e" "log and fail"
[ "$(grep -c 'pwned' "$tmp/e")" = 2 ] || fail "log and the error line should both show the text: $(cat "$tmp/e")"
grep -q '^error: A\\x1b\]52' "$tmp/e" || fail "the runtime error line is not escaped: $(cat "$tmp/e")"

# weft show and weft runs replay the journaled text: escaped too
"$WEFT" show 1 --journal "$J" >"$tmp/show" 2>&1 || fail "show: exit $?"
clean "$tmp/show"
escaped "$tmp/show" "show"
# a program whose file name changes the title and reverses the text
evil=$(printf 'evil\033]0;pwned\007\342\200\256.weft')
cp "$tmp/h.weft" "$tmp/$evil"
(cd "$tmp" && "$WEFT" run "$evil" --provider mock --journal "$J" >/dev/null 2>"$tmp/ee")
clean "$tmp/ee"
"$WEFT" runs --journal "$J" >"$tmp/runs" 2>&1 || fail "runs: exit $?"
clean "$tmp/runs"
has "$tmp/runs" 'evil\x1b]0;pwned\x07\u{202e}.weft' "runs"
[ "$(wc -l <"$tmp/runs")" = 3 ] || fail "runs: expected a header and two runs: $(cat "$tmp/runs")"
"$WEFT" runs --journal "$J" --json >"$tmp/rj" 2>&1 || fail "runs --json: exit $?"
clean "$tmp/rj"
printf '%s' "$evil" >"$tmp/want_name"
$CHECK json "$tmp/rj" 1.program "$tmp/want_name" || fail "runs --json: the program is not the exact name"
# weft trace prints JSON lines: the control characters as JSON escapes
"$WEFT" trace 1 --journal "$J" >"$tmp/trace" 2>&1 || fail "trace: exit $?"
clean "$tmp/trace"
$CHECK jsonl "$tmp/trace" || fail "trace: a line is not JSON"
grep -q 'pwned' "$tmp/trace" || fail "trace lost the error text"

# --json: valid JSON that decodes to the exact reply text
"$WEFT" run "$tmp/h.weft" --provider mock --mock-script "$tmp/mock.json" --journal "$J" --json \
  >"$tmp/oj" 2>"$tmp/ej" </dev/null
[ "$?" = 1 ] || fail "run --json should fail"
clean "$tmp/ej"
clean "$tmp/oj"
tail -n 1 "$tmp/oj" >"$tmp/doc" # after what print wrote
$CHECK json "$tmp/doc" error "$tmp/want" || fail "run --json: the error is not the exact text"
"$WEFT" show last --journal "$J" --json >"$tmp/sj" 2>&1 || fail "show --json: exit $?"
$CHECK json "$tmp/sj" run.error "$tmp/want" || fail "show --json: the error is not the exact text"

# --raw-output: print's bytes exactly (a pipeline asked for them); stderr stays escaped
"$WEFT" run "$tmp/h.weft" --provider mock --mock-script "$tmp/mock.json" --no-journal --raw-output \
  >"$tmp/raw" 2>"$tmp/rawe" </dev/null
printf '\n' >>"$tmp/want"
cmp -s "$tmp/raw" "$tmp/want" || fail "--raw-output: stdout is not the exact text: $(od -c "$tmp/raw" | head)"
clean "$tmp/rawe"
escaped "$tmp/rawe" "log and fail under --raw-output"
"$WEFT" help run | grep -q -- '--raw-output' || fail "weft help run does not list --raw-output"
exit 0
