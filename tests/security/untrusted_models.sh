# Roles are held to the operator's allowlist (docs/security.md, "Untrusted
# programs"): --models P/M,... (a model named in full, or P/* for all of a
# provider's), mock models always; without --models an untrusted program
# may call mock models only. weft check --untrusted reports a role whose
# model is not allowed as E0621 at its model string; weft run --untrusted
# refuses before anything runs. Checked after --provider; a role the
# operator gives a model with --model may call it.
. "$TESTDIR/../lib/server.sh"
cd "$tmp" || fail "cd"
cat >roles.weft <<'W'
role writer { model: "anthropic/claude-sonnet-4-5" }
role judge {
  max_tokens: 100,
  model: "openai/gpt-4o-mini",
}
role local { model: "mock/m" }
fn main() -> string {
  print(ask local "first")
  ask judge "hello"
}
W

# Control: an ordinary run and check accept any model.
run "$WEFT" check roles.weft
expect_rc 0 "an ordinary check"

# The reproducer: check --untrusted reports both roles, at their model strings.
run "$WEFT" check --untrusted roles.weft
expect_rc 1 "check --untrusted"
expect_err 'roles.weft:1:22: error[E0621]: model "anthropic/claude-sonnet-4-5" is not allowed for an untrusted program'
expect_err 'roles.weft:4:10: error[E0621]: model "openai/gpt-4o-mini" is not allowed'
expect_err "help: the models allowed: mock/* (the operator adds one with --models)"
run "$WEFT" check --untrusted --json roles.weft
expect_rc 1 "check --untrusted --json"
[ "$(printf '%s' "$out" | grep -o '"code":"E0621"' | wc -l)" -eq 2 ] || fail "not two E0621: $out"
contains "$out" '"line":4,"column":10' || fail "E0621 does not point at judge's model: $out"

# ... and run --untrusted refuses before anything runs: nothing printed,
# nothing sent, no run journaled.
reset_stats
run "$WEFT" run --journal "$tmp/j.db" --untrusted roles.weft
expect_rc 2 "run --untrusted"
expect_err "weft: role writer: model anthropic/claude-sonnet-4-5 is not allowed (allowed: mock/*)"
expect_no_out "run --untrusted"
[ "$(attempts)" = 0 ] || fail "a request was sent: $(attempts)"
if [ -e "$tmp/j.db" ]; then
  run "$WEFT" runs --journal "$tmp/j.db" --json
  expect_rc 0 "weft runs"
  [ "$out" = "[]" ] || fail "a refused run was journaled: $out"
fi

# The allowlist is honoured: listed models are called (the local server
# answers), in full or by provider.
reset_stats
run "$WEFT" run --no-journal --untrusted --models openai/gpt-4o-mini,anthropic/claude-sonnet-4-5 roles.weft
expect_rc 0 "both models listed"
expect_out '"echo: hello"'
[ "$(attempts)" = 1 ] || fail "expected one request, saw $(attempts)"
run "$WEFT" check --untrusted --models 'openai/*,anthropic/claude-sonnet-4-5' roles.weft
expect_rc 0 "check with openai/* and a full name"
run "$WEFT" run --no-journal --untrusted --models 'openai/*' roles.weft
expect_rc 2 "openai/* leaves anthropic out"
expect_err "role writer: model anthropic/claude-sonnet-4-5 is not allowed (allowed: mock/*, openai/*)"
run "$WEFT" check --untrusted --models openai/gpt-4o roles.weft
expect_rc 1 "a near name is not the name"
expect_err 'model "openai/gpt-4o-mini" is not allowed'

# --models also holds an ordinary run to its list.
run "$WEFT" run --no-journal --models openai/gpt-4o-mini roles.weft
expect_rc 2 "an ordinary run with --models"
expect_err "role writer: model anthropic/claude-sonnet-4-5 is not allowed"

# After the operator's overrides: --provider mock makes every role a mock;
# --provider openai keeps the program's model names, which must be listed;
# --model names a model for a role, which it may then call.
run "$WEFT" run --no-journal --untrusted --provider mock roles.weft
expect_rc 0 "--provider mock"
run "$WEFT" run --no-journal --untrusted --provider openai --models openai/gpt-4o-mini roles.weft
expect_rc 2 "--provider openai with the writer's model unlisted"
expect_err "role writer: model openai/claude-sonnet-4-5 is not allowed"
reset_stats
run "$WEFT" run --no-journal --untrusted --model writer=mock/w --model judge=openai/local-1 roles.weft
expect_rc 0 "--model overrides"
[ "$(attempts)" = 1 ] || fail "the overridden judge was not called"

# The list is checked as it is given.
for bad in 'anthropic/claude-*' 'nobody/x' 'openai/' 'openai/a,,openai/b' 'gpt-4o' '*'; do
  run "$WEFT" run --no-journal --untrusted --models "$bad" roles.weft
  expect_rc 2 "--models $bad"
  expect_err "--models needs PROVIDER/MODEL or PROVIDER/*"
done
exit 0
