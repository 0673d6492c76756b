#!/bin/bash
# bench/agents/run.sh — the tool-calling loop against plain asks: 200
# agents at limit 32, each 5 steps with one tool call per step (4 turns of
# calls, then the answer), against 1,000 plain asks at limit 32 — the same
# number of model calls. Answered by the offline mock (a script plays the
# conversation), so the figures are the engine's and the VM's CPU per model
# call, without a network.
#   bench/agents/run.sh [path/to/weft]     RUNS=N (default 5): the fastest run
# Target: CPU per step within 1.5x of a plain ask's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
weft=${1:-$here/../../weft}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
runs=${RUNS:-5}
. "$here/programs.sh"
programs "$tmp" mock/agent mock/agent
cat >"$tmp/script.json" <<'EOF_J'
{"replies": [
  {"role": "agent", "step": 1, "tool_calls": [{"name": "lookup", "input": {"word": "alpha"}}]},
  {"role": "agent", "step": 2, "tool_calls": [{"name": "lookup", "input": {"word": "beta"}}]},
  {"role": "agent", "step": 3, "tool_calls": [{"name": "lookup", "input": {"word": "gamma"}}]},
  {"role": "agent", "step": 4, "tool_calls": [{"name": "lookup", "input": {"word": "delta"}}]},
  {"role": "agent", "step": 5, "reply": "done"}
]}
EOF_J
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, RUNS=$runs"
python3 - "$runs" "$weft" "$tmp" <<'EOF_P'
import os, resource, subprocess, sys
runs, weft, tmp = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def cpu(args):
    best = None
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = t if best is None else min(best, t)
    return best
common = [weft, "run", "--no-journal", "--mock-script", tmp + "/script.json"]
z = cpu(common + [tmp + "/empty.weft"])
a = cpu(common + [tmp + "/agents.weft"])
p = cpu(common + [tmp + "/asks.weft"])
print("start-up and compile (an empty main):               %.1f ms CPU" % (z * 1e3))
print("200 agents x 5 steps (1,000 steps, 800 tool calls): %.1f ms CPU, %.1f us per step beyond start-up" % (a * 1e3, (a - z) * 1e6 / 1000))
print("1,000 plain asks:                                   %.1f ms CPU, %.1f us per ask beyond start-up" % (p * 1e3, (p - z) * 1e6 / 1000))
print("ratio per model call, start-up included: %.2fx (target <= 1.5x against the test server)" % (a / p))
EOF_P
