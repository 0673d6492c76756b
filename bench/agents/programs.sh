# programs.sh — the programs bench/agents/run.sh and server.sh both time
# (sourced): programs DIR AGENT_MODEL ASK_MODEL writes into DIR
#   agents.weft  200 agents at limit 32, a role with one tool, 5 steps
#   asks.weft    1,000 plain asks at limit 32 (the same number of calls)
#   empty.weft   an empty main (start-up and compile, subtracted)
programs() {
  cat >"$1/agents.weft" <<EOF_W
/// Looks a word up.
fn lookup(word: string) -> string {
  "the meaning of {word}"
}

role agent { model: "$2", tools: [lookup], max_steps: 5 }

fn main() -> int {
  let rs = barrier fanout i in range(200) limit 32 { ask agent "task {i}" }
  len(rs)
}
EOF_W
  cat >"$1/asks.weft" <<EOF_W
role agent { model: "$3" }

fn main() -> int {
  let rs = barrier fanout i in range(1000) limit 32 { ask agent "task {i}" }
  len(rs)
}
EOF_W
  printf 'fn main() -> int { 1 }\n' >"$1/empty.weft"
}
