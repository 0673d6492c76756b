# Terminal injection through diagnostics: a source line with an error that
# holds raw ESC/BEL sequences, a C1 control and U+202E in a string literal;
# a name with a C1 control quoted in the message; a file whose name carries
# a title change. The message, the path and the quoted excerpt are shown
# escaped, with the caret under the escaped text; --json keeps the exact
# text; --color=always keeps its own colours but escapes the program's.
. "$TESTDIR/../lib/common.sh"
command -v python3 >/dev/null 2>&1 || fail "python3 is missing (./bootstrap installs it)"
# The interpreter itself, not a wrapper script (pyenv shims are slow).
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "python3 does not run"
CHECK="$PY $TESTDIR/data/terminal_check.py"

# Line 2 has a type error; its string literal holds raw control bytes.
printf 'fn main() {\n  let _x: int = "\033]0;pwned\007\033[2J\302\233"\n}\n' >"$tmp/lit.weft"
"$WEFT" check --color=never "$tmp/lit.weft" >"$tmp/o" 2>"$tmp/e"
[ "$?" = 1 ] || fail "lit.weft should not check"
grep -q 'error\[E0301\]' "$tmp/e" || fail "no type error: $(cat "$tmp/e")"
$CHECK clean "$tmp/e" || fail "raw control in the excerpt"
grep -qF -- '"\x1b]0;pwned\x07\x1b[2J\u{9b}"' "$tmp/e" || fail "the excerpt is not shown escaped: $(cat "$tmp/e")"
# the caret line: the underline starts under the opening quote and spans
# the escaped literal (31 cells: the quotes and 29 of escaped text)
src=$(grep -F ' 2 | ' "$tmp/e")
car=$(grep -F '^' "$tmp/e")
[ "$(printf '%s' "$src" | sed 's/".*//' | wc -c)" = "$(printf '%s' "$car" | sed 's/\^.*//' | wc -c)" ] ||
  fail "the caret is not under the string: $(cat "$tmp/e")"
printf '%s' "$car" | grep -q '\^~\{30\}$' || fail "the underline does not span the escaped literal: $(cat "$tmp/e")"

# --color=always: only weft's own SGR sequences stay raw
"$WEFT" check --color=always "$tmp/lit.weft" >"$tmp/o" 2>"$tmp/ec"
grep -q "$(printf '\033')\]0;pwned" "$tmp/ec" && fail "--color=always lets the title change through"
grep -q "$(printf '\033')\[2J" "$tmp/ec" && fail "--color=always lets the clear-screen through"
grep -q "$(printf '\033')\[1;31merror" "$tmp/ec" || fail "--color=always lost its colours: $(cat "$tmp/ec")"

# A message quoting hostile text (a name with a C1 control), and a path with a title change.
name="$tmp/$(printf 'evil\033]0;pwned\007.weft')"
printf 'fn main() {\n  let a\302\233b = 1\n}\n' >"$name"
"$WEFT" check --color=never "$name" >"$tmp/o" 2>"$tmp/e"
[ "$?" = 1 ] || fail "the C1 name should not check"
grep -q 'error\[E0001\]' "$tmp/e" || fail "no E0001: $(cat "$tmp/e")"
$CHECK clean "$tmp/e" || fail "raw control in the message or path"
grep -qF -- "invalid character in name 'a\\u{9b}b'" "$tmp/e" || fail "the message is not escaped: $(cat "$tmp/e")"
grep -qF -- 'evil\x1b]0;pwned\x07.weft:2:7' "$tmp/e" || fail "the path is not escaped: $(cat "$tmp/e")"

# --json: the exact message
"$WEFT" check --json "$name" >"$tmp/j" 2>"$tmp/e"
printf 'invalid character in name '"'"'a\302\233b'"'" >"$tmp/want"
$CHECK json "$tmp/j" diagnostics.0.message "$tmp/want" || fail "check --json: the message is not exact"

# weft disasm lists string constants (and a module's names): escaped.
printf 'fn main() {\n  print("a\\u{202E}b\\u{9b}c\\u{1b}]0;t\\u{7}")\n}\n' >"$tmp/d.weft"
"$WEFT" disasm "$tmp/d.weft" >"$tmp/o" 2>"$tmp/e" || fail "disasm: exit $?"
$CHECK clean "$tmp/o" || fail "raw control in the disasm listing"
grep -qF -- '"a\u{202e}b\u{9b}c\x1b]0;t\x07"' "$tmp/o" || fail "disasm: the string is not escaped: $(cat "$tmp/o")"

# A usage error echoing an argument: escaped.
"$WEFT" run "$tmp/lit.weft" "--$(printf '\033]0;pwned\007')" >"$tmp/o" 2>"$tmp/e"
[ "$?" = 2 ] || fail "an unknown flag should be a usage error"
$CHECK clean "$tmp/e" || fail "raw control in the usage error"
grep -qF -- '\x1b]0;pwned\x07' "$tmp/e" || fail "the flag is not echoed escaped: $(cat "$tmp/e")"
"$WEFT" "$(printf '\342\200\256nur')" >"$tmp/o" 2>"$tmp/e"
[ "$?" = 2 ] || fail "an unknown command should be a usage error"
$CHECK clean "$tmp/e" || fail "raw bidi in the unknown-command error"
exit 0
