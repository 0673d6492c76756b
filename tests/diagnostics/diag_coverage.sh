# Every diagnostic code in lang/diagcodes.def is exercised by some test:
# by an `// expect error[CODE]` line in a .weft test, or here, for the codes
# whose trigger is too large to commit as a file (E0104: a source over
# 16 MiB; E0504: a program beyond a bytecode encoding limit) or needs a
# flag (E0621: weft check --untrusted; E0105: weft run --max-memory). E0505, the internal compiler
# error, must have no trigger at all.
. "$TESTDIR/../lib/common.sh"
root=$(cd "$TESTDIR/../.." && pwd)

# E0104: a file larger than 16 MiB is refused with one diagnostic.
awk 'BEGIN { printf "fn main() {}\n"; for (i = 0; i < 340000; i++) printf "// padding padding padding padding padding padding\n" }' > "$tmp/big.weft"
run "$WEFT" check --json "$tmp/big.weft"
expect_rc 1 "oversized source"
contains "$out" '"code":"E0104"' || fail "E0104 not reported for a 17 MiB file: $out"

# E0504: a list literal with more elements than one instruction can count.
awk 'BEGIN { printf "fn main() -> int {\n  let xs = ["; for (i = 0; i < 70000; i++) printf "%d,", i; printf "0]\n  len(xs)\n}\n" }' > "$tmp/wide.weft"
run "$WEFT" check "$tmp/wide.weft"
expect_rc 1 "a 70,000-element literal"
contains "$err" "error[E0504]" || fail "E0504 not reported by weft check: $err"

# E0621: a role whose model an untrusted check does not allow.
printf 'role w { model: "openai/gpt-4o" }\nfn main() -> string { ask w "hi" }\n' > "$tmp/models.weft"
run "$WEFT" check --untrusted --json "$tmp/models.weft"
expect_rc 1 "a model not allowed"
contains "$out" '"code":"E0621"' || fail "E0621 not reported by weft check --untrusted: $out"

# E0105: a program whose compilation needs more than --max-memory
# (tests/security/compile_memory.sh measures it).
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "fn f%d(x: int) -> int { x + %d }\n", i, i; printf "fn main() -> int { f1(1) }\n" }' > "$tmp/many.weft"
# A refused compile leaves what it had in flight to the process's exit
# (docs/security.md, "Memory of the compiler and of calls in flight"): a
# sanitizer build is told not to report that as a leak here.
run env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$WEFT" run --quiet "$tmp/many.weft" --max-memory 8M
expect_rc 1 "a compile past --max-memory"
contains "$err" "error[E0105]" || fail "E0105 not reported by weft run --max-memory: $err"

# Every other code has a test file that expects it.
for code in $(sed -n 's/^DIAG(\([EWN][0-9]*\),.*/\1/p' "$root/lang/diagcodes.def"); do
  case $code in E0104|E0105|E0504|E0505|E0621) continue ;; esac
  grep -rqs "expect \(error\|warning\|note\)\[$code\]" "$root/tests" ||
    fail "no test expects $code"
done
exit 0
