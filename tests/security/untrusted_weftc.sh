# --untrusted takes source only (docs/security.md, "Untrusted programs"): a
# .weftc module never went through the checker, so `weft run --untrusted`
# and `weft check --untrusted` refuse one with a clear message and exit 2,
# whatever the file is called; the same program as source runs.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || fail "cd"
printf 'fn main() -> string { "ran" }\n' >p.weft
run "$WEFT" build p.weft -o p.weftc
expect_rc 0 "build"

# Controls: an ordinary run loads the module; --untrusted runs the source.
run "$WEFT" run --no-journal p.weftc
expect_rc 0 "an ordinary run of the module"
expect_out '"ran"'
run "$WEFT" run --no-journal --untrusted p.weft
expect_rc 0 "an untrusted run of the source"
expect_out '"ran"'

# The reproducer: an untrusted run of the module.
run "$WEFT" run --no-journal --untrusted p.weftc
expect_rc 2 "run --untrusted of a .weftc"
expect_err "weft: p.weftc is a compiled module (.weftc): an untrusted program is run only from its source"
expect_no_out "run --untrusted of a .weftc"

# The contents decide, not the name.
cp p.weftc disguised.weft
run "$WEFT" run --no-journal --untrusted disguised.weft
expect_rc 2 "a module named .weft"
expect_err "disguised.weft is a compiled module"
expect_no_out "a module named .weft"

# weft check --untrusted refuses it too, in text and JSON.
run "$WEFT" check --untrusted p.weftc
expect_rc 2 "check --untrusted of a .weftc"
expect_err "p.weftc is a compiled module"
run "$WEFT" check --untrusted --json disguised.weft
expect_rc 2 "check --untrusted --json of a module named .weft"
expect_err "disguised.weft is a compiled module"
run "$WEFT" check --untrusted p.weft
expect_rc 0 "check --untrusted of the source"

# A replay of an untrusted run with --program naming a module is refused.
run "$WEFT" run --journal "$tmp/j.db" --untrusted p.weft
expect_rc 0 "a journaled untrusted run"
run "$WEFT" replay last --journal "$tmp/j.db" --program p.weftc
expect_rc 2 "replay --program of a module for an untrusted run"
expect_err "p.weftc is a compiled module"
run "$WEFT" replay last --journal "$tmp/j.db" --program p.weft --check
expect_rc 0 "replay --program of the source"
exit 0
