# A resume or replay of an untrusted run is untrusted too (docs/security.md,
# "Untrusted programs"): --untrusted and --models are recorded with the
# run and applied again before the program is compiled, no flag takes them
# back, and the program is compiled from source every time, never run from
# the journal's copy of its module.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || fail "cd"
J="$tmp/j.db"
printf 'fn d(n: int) -> int { if n == 0 { 0 } else { 1 + d(n - 1) } }\nfn main(n: int) -> int { d(n) }\n' >deep.weft

# The run fails at the untrusted call depth (1000).
run "$WEFT" run --journal "$J" --untrusted deep.weft --arg n=2000
expect_rc 1 "the untrusted run"
expect_err "call depth limit (1000) exceeded"
run "$WEFT" show last --journal "$J" --json
contains "$out" '"options":["--untrusted"]' || fail "--untrusted is not recorded: $out"

# The reproducer: a resume without flags is still untrusted (an ordinary
# run would reach depth 2000 under its default of 10000).
run "$WEFT" resume last --journal "$J"
expect_rc 1 "the resume"
expect_err "call depth limit (1000) exceeded"
run "$WEFT" replay last --journal "$J"
expect_rc 1 "the replay"
expect_err "call depth limit (1000) exceeded"
# No flag turns it off.
run "$WEFT" resume last --journal "$J" --untrusted=no
expect_rc 2 "--untrusted=no"
expect_err "unknown flag '--untrusted=no'"
# The operator may still give a limit of his own.
run "$WEFT" resume last --journal "$J" --max-call-depth 5000
expect_rc 0 "the resume with a higher limit"
expect_out "2000"

# Untrusted imports and models hold on the resume: the program changed
# (--force) to import its sibling, and to name a model not allowed.
run "$WEFT" run --journal "$J" --untrusted deep.weft --arg n=2000
expect_rc 1 "a second untrusted run"
printf 'fn one() -> int { 1 }\n' >sib.weft
printf 'import "./sib.weft" as s\nfn main(n: int) -> int { s.one() }\n' >deep.weft
run "$WEFT" resume last --journal "$J" --force
expect_rc 1 "a resume whose program imports a sibling"
expect_err "lies outside the import roots"
run "$WEFT" resume last --journal "$J" --force --allow-import .
expect_rc 0 "the same resume with --allow-import"
expect_out "1"

printf 'role r { model: "openai/gpt-4o" }\nfn main(n: int) -> string { ask r "hi" }\n' >asker.weft
run "$WEFT" run --journal "$J" --untrusted --models openai/gpt-4o --budget-calls 0 asker.weft --arg n=1
expect_rc 1 "an untrusted run with --models, out of calls"
run "$WEFT" show last --journal "$J" --json
contains "$out" '"--models=openai/gpt-4o"' || fail "--models is not recorded: $out"
printf 'role r { model: "openai/gpt-5" }\nfn main(n: int) -> string { ask r "hi" }\n' >asker.weft
run "$WEFT" resume last --journal "$J" --force
expect_rc 2 "a resume whose model is no longer allowed"
expect_err "role r: model openai/gpt-5 is not allowed (allowed: mock/*, openai/gpt-4o)"

# The journal's copy of the module is never run for an untrusted run:
# with the program file gone, resume and replay refuse; replay takes
# --program FILE (source only).
printf 'fn main(n: int) -> int { n }\n' >gone.weft
run "$WEFT" run --journal "$J" --untrusted gone.weft --arg n=7
expect_rc 0 "an untrusted run to replay"
mv gone.weft kept.weft
run "$WEFT" replay last --journal "$J"
expect_rc 2 "replay with the program gone"
expect_err "is untrusted and $tmp/gone.weft is gone: an untrusted run is compiled from its source, never run from the journal's copy"
expect_no_out "replay with the program gone"
run "$WEFT" replay last --journal "$J" --program kept.weft --check
expect_rc 0 "replay --program of the source"
printf 'fn d(n: int) -> int { if n == 0 { 0 } else { 1 + d(n - 1) } }\nfn main(n: int) -> int { d(n) }\n' >deep2.weft
run "$WEFT" run --journal "$J" --untrusted deep2.weft --arg n=2000
expect_rc 1 "an untrusted run to resume"
rm deep2.weft
run "$WEFT" resume last --journal "$J" --max-call-depth 5000
expect_rc 2 "resume with the program gone"
expect_err "is untrusted and $tmp/deep2.weft is gone"
# Control: an ordinary run's resume falls back to the journal's copy.
printf 'fn d(n: int) -> int { if n == 0 { 0 } else { 1 + d(n - 1) } }\nfn main(n: int) -> int { d(n) }\n' >deep3.weft
run "$WEFT" run --journal "$J" deep3.weft --arg n=20000
expect_rc 1 "an ordinary run to resume"
rm deep3.weft
run "$WEFT" resume last --journal "$J" --max-call-depth 30000
expect_rc 0 "an ordinary resume from the journal's copy"
expect_err "running the module recorded in the journal"
# ... and a resume given --untrusted is untrusted whatever was recorded.
run "$WEFT" run --journal "$J" deep.weft --arg n=1 --allow-import .
expect_rc 0 "an ordinary run with a sibling import"
run "$WEFT" replay last --journal "$J" --untrusted
expect_rc 1 "a replay given --untrusted"
expect_err "lies outside the import roots"
exit 0
