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
exit 0
