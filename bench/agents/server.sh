#!/bin/bash
# bench/agents/server.sh — the tool-calling loop against plain asks over
# real HTTP: the local test server (tests/lib/llm_server.py, the Anthropic
# wire format) answers 200 agents at limit 32, each 5 steps with one tool
# call in each of the first 4 (model "tools-4"), and 1,000 plain asks at
# limit 32 — the same number of model requests. Weft's own CPU (user +
# system, from wait4) less an empty program's, per request.
#   bench/agents/server.sh [path/to/weft]     RUNS=N (default 7)
# Target: CPU per step within 1.5x of a plain ask's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
weft=$(cd "$(dirname "${1:-$here/../../weft}")" && pwd)/$(basename "${1:-weft}")
tmp=$(mktemp -d)
python3 "$here/../../tests/lib/llm_server.py" --port 0 --port-file "$tmp/port" 2>"$tmp/server.log" &
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
. "$here/programs.sh"
programs "$tmp" anthropic/tools-4 anthropic/plain
WEFT="$weft" DIR="$tmp" RUNS="${RUNS:-7}" python3 - <<'EOF_P'
import os
d, weft, runs = os.environ["DIR"], os.environ["WEFT"], int(os.environ["RUNS"])
port = open(d + "/port").read().strip()
env = dict(os.environ, ANTHROPIC_BASE_URL="http://127.0.0.1:" + port, ANTHROPIC_API_KEY="bench")
cpu = {}
for _ in range(runs):
    for p in ("empty", "asks", "agents"):
        pid = os.fork()
        if pid == 0:
            fd = os.open("/dev/null", os.O_WRONLY)
            os.dup2(fd, 1); os.dup2(fd, 2)
            os.execve(weft, ["weft", "run", "--no-journal", "--quiet", d + "/" + p + ".weft"], env)
        _, st, ru = os.wait4(pid, 0)
        if os.waitstatus_to_exitcode(st) != 0:
            raise SystemExit(p + ".weft failed")
        cpu.setdefault(p, []).append(ru.ru_utime + ru.ru_stime)
for name, pick in (("fastest", min), ("median", lambda v: sorted(v)[len(v) // 2])):
    e, a, g = (pick(cpu[p]) for p in ("empty", "asks", "agents"))
    ask, step = (a - e) / 1000 * 1e6, (g - e) / 1000 * 1e6
    print(f"{name}: plain ask {ask:.1f} us CPU, tool-loop step {step:.1f} us CPU (with its tool call), ratio {step / ask:.2f} (target 1.5)")
EOF_P
