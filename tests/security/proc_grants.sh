# A program runs only when granted by name (--allow-run=NAME), from the
# absolute path fixed when the run started: a program of the same name put
# earlier on PATH during the run is never used; a working directory must
# lie in a file grant.
. "$TESTDIR/../lib/common.sh"
mkdir -p "$tmp/early" "$tmp/late"
# the original tool, found on PATH at start, puts a hijacker of the same
# name earlier on PATH while the run goes on
cat > "$tmp/late/mytool" <<EOF_T
#!/bin/sh
printf '#!/bin/sh\necho HIJACKED\n' > "$tmp/early/mytool"
chmod +x "$tmp/early/mytool"
echo original
EOF_T
chmod +x "$tmp/late/mytool"
cat > "$tmp/hijack.weft" <<'W'
import "std/proc" as proc
fn main() {
  print(proc.run("mytool", []).stdout)
  print(proc.run("mytool", []).stdout)
}
W
PATH="$tmp/early:$tmp/late:$PATH" run "$WEFT" run --allow-run=mytool --allow-write="$tmp/early" "$tmp/hijack.weft"
expect_rc 0 "the tool runs twice"
[ -x "$tmp/early/mytool" ] || fail "the hijacker was not put in place: $out $err"
contains "$out" HIJACKED && fail "the program earlier on PATH was used: $out"
[ "$(printf '%s\n' "$out" | grep -c original)" = 2 ] || fail "expected the original twice: $out"

# not granted: the refusal names the flag
cat > "$tmp/ungranted.weft" <<'W'
import "std/proc" as proc
fn main() { print(proc.run("echo", ["hi"]).stdout) }
W
# (a constant name: refused before the run starts, exit 2)
run "$WEFT" run "$tmp/ungranted.weft"
expect_rc 2 "no grant"
expect_err "needs --allow-run=echo"
# another program granted is no grant for this one
run "$WEFT" run --allow-run=cat "$tmp/ungranted.weft"
expect_rc 2 "another grant"
expect_err "needs --allow-run=echo"
# a computed name is checked when the call is made: the call fails
cat > "$tmp/computed.weft" <<'W'
import "std/proc" as proc
fn main() { print(proc.run(join(["ec", "ho"], ""), ["hi"]).stdout) }
W
run "$WEFT" run --allow-run=cat "$tmp/computed.weft"
expect_rc 1 "a computed name not granted"
expect_err "needs --allow-run=echo"
contains "$out" hi && fail "echo ran without its grant"
# an absolute path is no way around the grant by name
cat > "$tmp/abs.weft" <<'W'
import "std/proc" as proc
fn main() { print(proc.run("/bin/sh", ["-c", "echo escaped"]).stdout) }
W
run "$WEFT" run --allow-run=echo "$tmp/abs.weft"
expect_rc 2 "an absolute path not granted"
expect_err "needs --allow-run=/bin/sh"
contains "$out" escaped && fail "the shell ran"

# a working directory outside the file grants
cat > "$tmp/cwd.weft" <<'W'
import "std/proc" as proc
fn main() { print(proc.run_with("pwd", [], { cwd: "/etc" }).stdout) }
W
run "$WEFT" run --allow-run=pwd "$tmp/cwd.weft"
expect_rc 1 "cwd outside the grants"
expect_err "needs --allow-read=/etc"
run "$WEFT" run --allow-run=pwd --allow-read=/etc "$tmp/cwd.weft"
expect_rc 0 "cwd inside a read grant"
expect_out "/etc"
exit 0
