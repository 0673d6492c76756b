# A granted program sees an environment built from an allowlist (PATH,
# HOME, LANG, TERM): tokens, provider keys and loader variables in weft's
# own environment never reach it (docs/security.md, "Child processes").
. "$TESTDIR/../lib/common.sh"
cat > "$tmp/env.weft" <<'W'
import "std/proc" as proc
fn main() {
  let o = proc.run("env", [])
  print(o.stdout)
}
W
GITHUB_TOKEN=ghp_canary_token_123 LD_PRELOAD=" " AWS_SECRET_ACCESS_KEY=aws_canary_456 \
  run "$WEFT" run --allow-run=env "$tmp/env.weft"
expect_rc 0 "env runs"
expect_out "PATH="
contains "$out" "ghp_canary" && fail "GITHUB_TOKEN reached the child: $out"
contains "$out" "LD_PRELOAD" && fail "LD_PRELOAD reached the child: $out"
contains "$out" "aws_canary" && fail "AWS_SECRET_ACCESS_KEY reached the child: $out"
# the runner's canary provider keys are in weft's environment too
contains "$out" "API_KEY" && fail "a provider key reached the child: $out"

# the operator passes a name on, by flag or grants file; nothing else follows
WEFT_CI_FLAG=yes_ci GITHUB_TOKEN=ghp_canary_token_123 run "$WEFT" run --allow-run=env --allow-env=WEFT_CI_FLAG "$tmp/env.weft"
expect_rc 0 "env with --allow-env"
expect_out "WEFT_CI_FLAG=yes_ci"
contains "$out" "ghp_canary" && fail "GITHUB_TOKEN followed an unrelated --allow-env: $out"
printf '{"run": ["env"], "env": ["WEFT_CI_FLAG"]}' > "$tmp/grants.json"
WEFT_CI_FLAG=from_file run "$WEFT" run --grants="$tmp/grants.json" "$tmp/env.weft"
expect_rc 0 "env with a grants file"
expect_out "WEFT_CI_FLAG=from_file"
run "$WEFT" run --allow-run=env --allow-env="A=B" "$tmp/env.weft"
expect_rc 2 "a name that is not one"
expect_err "--allow-env=A=B: not a variable name"
exit 0
