# A .weftc module holds at most 64 MiB (it was 1 GiB): larger ones are
# refused before they are hashed or parsed, by weft run and wherever a
# module is loaded (docs/security.md, "Untrusted programs"). The compiler
# makes a module about as large as its source, so none it writes comes near.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || fail "cd"
printf 'fn main() -> string { "ran" }\n' >p.weft
run "$WEFT" build p.weft -o p.weftc
expect_rc 0 "build"
run "$WEFT" run --no-journal p.weftc
expect_rc 0 "the module as built"

# The reproducer: the module padded to 65 MiB (sparse: its size costs no
# disk). The checksum no longer matches, but the size is refused first.
cp p.weftc big.weftc
truncate -s 65M big.weftc || fail "truncate"
t0=$(date +%s)
run "$WEFT" run --no-journal big.weftc
expect_rc 1 "a 65 MiB module"
expect_err "cannot load module 'big.weftc': it is larger than 64 MiB, the most weft loads"
[ $(($(date +%s) - t0)) -le 5 ] || fail "a 65 MiB module took more than 5 s to refuse"
# A 1 GiB one, as before accepted up to its checksum, is refused alike.
truncate -s 1G big.weftc || fail "truncate"
run "$WEFT" disasm big.weftc
expect_rc 1 "disasm of a 1 GiB module"
expect_err "larger than 64 MiB"
# Just under the cap, the checksum is what fails.
truncate -s 63M big.weftc || fail "truncate"
run "$WEFT" run --no-journal big.weftc
expect_rc 1 "a 63 MiB module"
expect_err "checksum mismatch"
exit 0
