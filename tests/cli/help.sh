# help lists the commands; help COMMAND and COMMAND --help describe one.
. "$TESTDIR/../lib/common.sh"

run "$WEFT" help
expect_rc 0 "help"
for c in check run build disasm; do expect_out "$c"; done

run "$WEFT" --help
expect_rc 0 "--help"
expect_out "usage: weft"

run "$WEFT" help run
expect_rc 0 "help run"
for f in --input --arg --max-instructions --max-memory --max-call-depth --max-fibers; do
  expect_out "$f"
done
help_run=$out

run "$WEFT" run --help
expect_rc 0 "run --help"
[ "$out" = "$help_run" ] || fail "'weft run --help' differs from 'weft help run'"

# Every command: `COMMAND --help` is `help COMMAND`, and every flag on a
# flag line of its help is documented in docs/cli.md or docs/durable.md.
# (That the help lists exactly the flags a command takes is checked against
# the flag table itself: tests/unit/test_cli_flags.c.)
DOCS="$TESTDIR/../../docs"
for c in check run build disasm resume replay runs show trace guide; do
  run "$WEFT" "$c" --help
  expect_rc 0 "$c --help"
  expect_out "usage: weft $c"
  own=$out
  run "$WEFT" help "$c"
  [ "$out" = "$own" ] || fail "'weft $c --help' differs from 'weft help $c'"
  flags=$(printf '%s\n' "$own" | grep '^  -' | sed 's/   .*//' | tr ',=' '  ' |
    awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^-/) print $i }')
  [ -n "$flags" ] || fail "weft help $c lists no flag"
  for f in $flags; do
    grep -qE -e "(^|[^a-z-])$f([^a-z-]|\$)" "$DOCS/cli.md" "$DOCS/durable.md" || fail "weft help $c lists $f, which docs/cli.md does not document"
  done
done

run "$WEFT" help nonsense
expect_rc 2 "help of an unknown command"
expect_err "nonsense"

run "$WEFT"
expect_rc 2 "no command"
expect_err "usage: weft"
exit 0
