# An untrusted program holds at most 1 MiB of source, its main file and
# its imports together, and is refused before parsing when it holds more
# (docs/security.md, "Untrusted programs"): E0104 for the main file, E0204
# at the import that goes over. An ordinary run keeps its own caps (16 MiB
# main file, 1 MiB per imported file).
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || fail "cd"
# pad FILE KIB: KIB KiB of comment lines appended to FILE
pad() {
  awk -v n="$2" 'BEGIN { for (i = 0; i < n * 16; i++) printf "// %060d\n", i }' >>"$1"
}
printf 'fn main() -> int { 1 }\n' >big.weft
pad big.weft 2048
printf 'fn main() -> int { 2 }\n' >fits.weft
pad fits.weft 1000
printf 'fn f() -> int { 3 }\n' >half.weft
pad half.weft 600
printf 'import "./half.weft" as h\nfn main() -> int { h.f() }\n' >two.weft
pad two.weft 600

# Control: an ordinary run takes the 2 MiB program.
run "$WEFT" run --no-journal big.weft
expect_rc 0 "an ordinary run of 2 MiB"
expect_out "1"

# The reproducer: 2 MiB refused by run and check, nothing run.
run "$WEFT" run --no-journal --untrusted big.weft
expect_rc 1 "run --untrusted of 2 MiB"
expect_err "error[E0104]"
expect_err "more than 1024 KiB, the most an untrusted program may hold"
expect_no_out "run --untrusted of 2 MiB"
run "$WEFT" check --untrusted --json big.weft
expect_rc 1 "check --untrusted of 2 MiB"
contains "$out" '"code":"E0104"' || fail "no E0104 in $out"
[ "$(printf '%s' "$out" | grep -o '"code"' | wc -l)" -eq 1 ] || fail "more than one diagnostic: $out"

# Just under the cap runs.
run "$WEFT" run --no-journal --untrusted fits.weft
expect_rc 0 "1000 KiB under --untrusted"
expect_out "2"

# The main file and an import count together: 600 + 600 KiB is over.
run "$WEFT" run --no-journal --untrusted --allow-import . two.weft
expect_rc 1 "600 + 600 KiB under --untrusted"
expect_err "error[E0204]"
expect_err "hold more than 1024 KiB together"
run "$WEFT" run --no-journal --allow-import . two.weft
expect_rc 0 "600 + 600 KiB in an ordinary run"
expect_out "3"

# A 100 MB file (sparse: nothing to read but its size) is refused at once.
printf 'fn main() -> int { 4 }\n' >huge.weft
truncate -s 100M huge.weft || fail "truncate"
t0=$(date +%s)
run "$WEFT" check --untrusted huge.weft
expect_rc 1 "check --untrusted of 100 MB"
expect_err "error[E0104]"
[ $(($(date +%s) - t0)) -le 3 ] || fail "a 100 MB file took more than 3 s to refuse"

# Not a regular file: a FIFO is refused, not waited on.
mkfifo pipe.weft || fail "mkfifo"
run timeout 5 "$WEFT" run --no-journal --untrusted pipe.weft
[ "$rc" != 124 ] || fail "--untrusted waited on a FIFO"
expect_rc 2 "a FIFO as the program"
expect_err "an untrusted program is a regular file"
exit 0
