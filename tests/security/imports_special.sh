# Only a regular file named *.weft, of at most 1 MiB, is imported: a .env
# beside the program, a FIFO, /dev/stdin, a directory named x.weft and an
# oversized module are refused at once (no hang, nothing printed), and an
# import path with a NUL or control character is refused without echoing it.
. "$TESTDIR/../lib/common.sh"

mkdir "$tmp/p"
prog() {
  printf 'import "%s"\nfn main() -> int { 0 }\n' "$1" >"$tmp/p/main.weft"
}
no_secret() {
  case "$out$err" in
    *FAKESECRET*) fail "$1: a file that is not a module was printed: $out $err" ;;
  esac
  expect_no_crash "$1"
}

# A .env (and other files) beside the program: not .weft, not read.
printf 'KEY=FAKESECRET-DOTENV-0001\nOTHER=FAKESECRET-DOTENV-0002\n' >"$tmp/p/.env"
printf '{"token": "FAKESECRET-JSON-0003"}\n' >"$tmp/p/secrets.json"
for path in ./.env ./secrets.json ./.env/../.env ./.weft; do
  prog "$path"
  run "$WEFT" check "$tmp/p/main.weft"
  no_secret "check: $path"
  expect_rc 1 "check: $path"
  expect_err "error[E0204]"
  run "$WEFT" check --json "$tmp/p/main.weft"
  no_secret "check --json: $path"
done
prog ./.env
run "$WEFT" check "$tmp/p/main.weft"
expect_err "does not end in .weft"

# A FIFO named like a module: never opened for a blocking read.
mkfifo "$tmp/p/pipe.weft" || fail "mkfifo"
prog ./pipe.weft
run timeout 5 "$WEFT" check "$tmp/p/main.weft"
[ "$rc" != 124 ] || fail "importing a FIFO hung"
expect_rc 1 "a FIFO"
expect_err "not a regular file"

# /dev/stdin, directly or through a link in the root, with stdin a pipe that
# stays open and empty (a read would wait for ever).
mkfifo "$tmp/in" || fail "mkfifo"
ln -s /dev/stdin "$tmp/p/stdin.weft"
for path in /dev/stdin ./stdin.weft; do
  prog "$path"
  (
    exec 3<>"$tmp/in"
    timeout 5 "$WEFT" check "$tmp/p/main.weft" <&3 >"$tmp/.out" 2>"$tmp/.err"
    echo $? >"$tmp/.rc"
  )
  rc=$(cat "$tmp/.rc")
  err=$(cat "$tmp/.err")
  [ "$rc" != 124 ] || fail "importing $path hung"
  expect_rc 1 "import of $path"
  expect_err "error[E0204]"
done

# A directory named like a module.
mkdir "$tmp/p/dir.weft"
prog ./dir.weft
run timeout 5 "$WEFT" check "$tmp/p/main.weft"
expect_rc 1 "a directory"
expect_err "is a directory"

# A module over the 1 MiB cap is refused before it is read; one under it
# loads. (The main file keeps the 16 MiB source cap.)
big() { # big FILE KIB: a module of KIB KiB of comment lines and one function
  awk -v n="$2" 'BEGIN { for (i = 0; i < n * 16; i++) printf "// %060d\n", i; print "fn f() -> int { 1 }" }' >"$1"
}
big "$tmp/p/big.weft" 1100
prog ./big.weft
run "$WEFT" check "$tmp/p/main.weft"
expect_rc 1 "an oversized module"
expect_err "larger than 1024 KiB"
big "$tmp/p/fits.weft" 1000
printf 'import "./fits.weft"\nfn main() -> int { f() }\n' >"$tmp/p/main.weft"
run "$WEFT" run --no-journal "$tmp/p/main.weft"
expect_rc 0 "a module under the cap"
expect_out "1"

# Many modules under the cap each: the imports of one program hold at most
# 16 MiB together.
i=0
: >"$tmp/p/main.weft"
while [ "$i" -lt 17 ]; do
  big "$tmp/p/many$i.weft" 1000
  sed -i "s/^fn f()/fn f$i()/" "$tmp/p/many$i.weft"
  printf 'import "./many%d.weft"\n' "$i" >>"$tmp/p/main.weft"
  i=$((i + 1))
done
printf 'fn main() -> int { 0 }\n' >>"$tmp/p/main.weft"
run "$WEFT" check "$tmp/p/main.weft"
expect_rc 1 "17 modules of 1000 KiB"
expect_err "more than 16 MiB together"

# NUL, control and bidirectional characters in an import path: refused,
# never echoed raw (ESC; CSI as the C1 character U+009B; RIGHT-TO-LEFT
# OVERRIDE U+202E).
esc=$(printf '\033') csi=$(printf '\302\233') rlo=$(printf '\342\200\256')
for path in './a\u{0}../../x.weft' './a\u{1b}[2Jb.weft' './a\u{9b}b.weft' './\u{202e}thgir.weft'; do
  prog "$path"
  run "$WEFT" check "$tmp/p/main.weft"
  expect_no_crash "path $path"
  expect_rc 1 "path $path"
  case "$err" in *"$esc"* | *"$csi"* | *"$rlo"*) fail "path $path: a control character reached the terminal: $err" ;; esac
  expect_err "NUL, control or bidirectional character"
  run "$WEFT" check --json "$tmp/p/main.weft"
  case "$out" in *"$esc"* | *"$csi"* | *"$rlo"*) fail "path $path: a control character in --json: $out" ;; esac
done
exit 0
