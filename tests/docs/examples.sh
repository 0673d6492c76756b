# Every Weft example in the docs compiles, and those that show their output
# print it (rules: docs/testing.md, "Examples in the docs"). docs/errors.md
# is checked by tests/diagnostics/docs_errors.sh instead: its examples are
# meant to fail.
. "$TESTDIR/../lib/common.sh"
top="$TESTDIR/../.."
command -v python3 >/dev/null || fail "python3 is needed (./bootstrap --tests installs it)"
python3 "$TESTDIR/doc_examples.py" "$WEFT" "$top/README.md" "$top"/docs/language.md \
  "$top"/docs/runtime.md "$top"/docs/patterns.md "$top"/docs/stdlib.md "$top"/docs/cli.md \
  "$top"/docs/testing.md "$top"/docs/durable.md "$top"/docs/embedding.md >"$tmp/log" 2>&1 ||
  fail "$(grep -v '^ok ' "$tmp/log")"
# the checker of examples must itself catch a broken one
printf '```weft\nfn main() -> int { "no" }\n```\n' >"$tmp/bad.md"
python3 "$TESTDIR/doc_examples.py" "$WEFT" "$tmp/bad.md" >/dev/null 2>&1 &&
  fail "a broken example passed"
tail -n 1 "$tmp/log"
exit 0
