# An import resolves only beneath an import root (the program's directory):
# an absolute path, ".." out of it, a link to a file or directory outside,
# and a directory swapped for such a link while weft reads are all refused,
# and nothing of the file outside is printed or compiled in.
. "$TESTDIR/../lib/common.sh"

mkdir -p "$tmp/p/sub" "$tmp/p/real" "$tmp/outside/dir"
# Outside the root: a file that does not parse (its text would be quoted by
# a parse error) and one that does (a program could return its contents).
printf 'TOKEN=FAKESECRET-NOPARSE-0001\n' >"$tmp/outside/secret.weft"
printf 'fn leak() -> string { "FAKESECRET-PARSES-0002" }\n' >"$tmp/outside/lib.weft"
cp "$tmp/outside/secret.weft" "$tmp/outside/dir/ok.weft"
printf 'fn ok() -> string { "inside" }\n' >"$tmp/p/real/ok.weft"

no_secret() {
  case "$out$err" in
    *FAKESECRET*) fail "$1: a file outside the root was printed: $out $err" ;;
    *root:x:0*) fail "$1: /etc/passwd was printed: $out $err" ;;
  esac
  expect_no_crash "$1"
}

# refused PATH: main imports PATH (and calls leak() when it would exist)
refused() {
  printf 'import "%s" as m\nfn main() -> string { m.leak() }\n' "$1" >"$tmp/p/main.weft"
  run "$WEFT" check "$tmp/p/main.weft"
  no_secret "check: $1"
  expect_rc 1 "check: $1"
  expect_err "error[E0204]"
  run "$WEFT" check --json "$tmp/p/main.weft"
  no_secret "check --json: $1"
  run "$WEFT" run --no-journal "$tmp/p/main.weft"
  no_secret "run: $1"
  expect_rc 1 "run: $1"
}

refused "$tmp/outside/secret.weft"                  # absolute
refused "$tmp/outside/lib.weft"
refused "../outside/secret.weft"                    # .. out of the root
refused "../outside/lib.weft"
refused "./sub/../../outside/lib.weft"
refused "../p/../outside/lib.weft"
refused "../../../../../../../../../../etc/passwd"
refused "../../../../../../../../../../etc/passwd.weft"
expect_err "outside the import roots"

# Links inside the root that lead out: to a file, to a directory.
ln -s ../outside/secret.weft "$tmp/p/link.weft"
ln -s ../outside/lib.weft "$tmp/p/liblink.weft"
ln -s "$tmp/outside/lib.weft" "$tmp/p/abslink.weft"
ln -s ../outside "$tmp/p/dirlink"
for path in ./link.weft ./liblink.weft ./abslink.weft ./dirlink/lib.weft ./dirlink/secret.weft; do
  refused "$path"
  expect_err "symbolic link"
done

# A nested import (from a file of the program, not the main file) is held to
# the same root.
printf 'import "../../outside/lib.weft" as o\nfn leak() -> string { o.leak() }\n' >"$tmp/p/sub/inner.weft"
refused "./sub/inner.weft"

# A link that stays inside the root is followed (openat2 allows it; where
# the kernel lacks openat2 every link is refused, also safely).
ln -s real/ok.weft "$tmp/p/inlink.weft"
printf 'import "./inlink.weft" as m\nfn main() -> string { m.ok() }\n' >"$tmp/p/main.weft"
run "$WEFT" run --no-journal "$tmp/p/main.weft"
expect_no_crash "a link inside the root"
if [ "$rc" = 0 ]; then
  expect_out '"inside"'
else
  expect_err "symbolic link"
fi

# A directory swapped for a link out of the root while weft runs: the path
# is opened beneath the root in one step, so whichever it meets, it never
# reads the file outside.
ln -s real "$tmp/p/swap"
printf 'import "./swap/ok.weft" as m\nfn main() -> string { m.ok() }\n' >"$tmp/p/main.weft"
(
  while :; do
    ln -sfn ../outside/dir "$tmp/p/swap.out" && mv -T "$tmp/p/swap.out" "$tmp/p/swap"
    ln -sfn real "$tmp/p/swap.in" && mv -T "$tmp/p/swap.in" "$tmp/p/swap"
  done
) 2>/dev/null &
swapper=$!
i=0
while [ "$i" -lt 40 ]; do
  run "$WEFT" check "$tmp/p/main.weft"
  case "$out$err" in
    *FAKESECRET*) kill "$swapper"; fail "swap $i: the file outside was printed: $err" ;;
  esac
  [ "$rc" -lt 128 ] || { kill "$swapper"; fail "swap $i: crashed ($rc)"; }
  i=$((i + 1))
done
kill "$swapper"
wait "$swapper" 2>/dev/null
exit 0
