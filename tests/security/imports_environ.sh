# An import of /proc/self/environ (or a path or link that reaches it) never
# prints the environment: not with `weft check`, not with --json, not from
# run or build. The canary key must appear nowhere in the output.
. "$TESTDIR/../lib/common.sh"

CANARY=sk-ant-CANARYIMPORT0123456789
export ANTHROPIC_API_KEY="$CANARY"
path= link=

# no_canary LABEL: neither the key nor its variable name is in the output
no_canary() {
  case "$out$err" in
    *CANARYIMPORT*) fail "$1: the canary key was printed: $out $err" ;;
    *ANTHROPIC_API_KEY*) fail "$1: the environment was printed: $out $err" ;;
  esac
  expect_no_crash "$1"
}

mkdir "$tmp/p"
prog() {
  printf 'import "%s"\nfn main() -> int { 0 }\n' "$1" >"$tmp/p/main.weft"
}

# The path straight, then reached by climbing with "..", with and without .weft.
for path in /proc/self/environ /proc/self/environ.weft \
  ../../../../../../../../../../proc/self/environ \
  ./../../../../../../../../../../proc/self/environ.weft; do
  prog "$path"
  run "$WEFT" check "$tmp/p/main.weft"
  no_canary "check: $path$link"
  expect_rc 1 "check of an import of $path"
  expect_err "error[E0204]"
  run "$WEFT" check --json "$tmp/p/main.weft"
  no_canary "check --json: $path$link"
  expect_rc 1 "check --json of an import of $path"
  expect_out '"code":"E0204"'
done

# A link inside the program's directory that points at it (absolutely, or
# relatively by climbing out).
ln -s /proc/self/environ "$tmp/p/env.weft"
ln -s ../../../../../../../../../../proc/self/environ "$tmp/p/rel.weft"
ln -s /proc/self/fd/0 "$tmp/p/fd.weft"
for link in env rel fd; do
  prog "./$link.weft"
  run "$WEFT" check "$tmp/p/main.weft"
  no_canary "check: $path$link"
  expect_rc 1 "check of a link $link.weft"
  expect_err "symbolic link"
  run "$WEFT" check --json "$tmp/p/main.weft"
  no_canary "check --json: $path$link"
  expect_rc 1 "check --json of a link $link.weft"
  run "$WEFT" run --no-journal "$tmp/p/main.weft"
  no_canary "run --no-journal: $path$link"
  expect_rc 1 "run of a link $link.weft"
  run "$WEFT" build "$tmp/p/main.weft" -o "$tmp/p/out.weftc"
  no_canary "build: $path$link"
  expect_rc 1 "build of a link $link.weft"
  [ ! -e "$tmp/p/out.weftc" ] || fail "build wrote a module for a refused import"
done
exit 0
