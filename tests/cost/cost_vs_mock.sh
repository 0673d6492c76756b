# The static bound of `weft check --cost` is never below what a run does:
# every example and every test program that expects no error is bounded
# and then run as the runner would (its `// args:` line, mock provider),
# and the calls the run made (`--json` stats) must not exceed the bound.
# Programs whose bound is `unbounded` are counted, not compared; the test
# fails if too few programs with model calls were compared to mean much.
. "$TESTDIR/../lib/common.sh"
command -v python3 >/dev/null 2>&1 || fail "python3 is missing (./bootstrap --tests installs it)"
SUITE=$(cd "$TESTDIR/.." && pwd)
EXAMPLES=$(cd "$TESTDIR/../../examples" && pwd)
python3 - "$WEFT" "$SUITE" "$EXAMPLES" <<'PYEOF'
import json, os, re, shlex, subprocess, sys
weft, suite, examples = sys.argv[1:4]
files = []
for root in (examples, suite):
    for d, dirs, fs in os.walk(root):
        dirs[:] = [x for x in dirs if x not in ("lib", "data", "server", "fuzz", "golden", "unit", "tools")]
        files += [os.path.join(d, f) for f in fs if f.endswith(".weft")]
compared = with_calls = unbounded = 0
bad = []
for f in sorted(files):
    src = open(f, encoding="utf-8", errors="replace").read()
    if re.search(r"//\s*expect (error|warning|runtime error)|//\s*expect exit:", src):
        continue
    m = re.search(r"^// args: (.*)$", src, re.M)
    args = shlex.split(m.group(1)) if m else []
    cwd = os.path.dirname(f)
    c = subprocess.run([weft, "check", "--cost", "--json", f], cwd=cwd, capture_output=True, text=True)
    try:
        calls = json.loads(c.stdout)["calls"]
    except Exception:
        continue
    if not calls["bounded"]:
        unbounded += 1
        continue
    try:
        bound = int(calls["formula"])
    except ValueError:
        continue  # depends on main's inputs
    r = subprocess.run([weft, "run", f] + args + ["--json", "--no-journal"], cwd=cwd,
                       capture_output=True, text=True, timeout=60)
    # The program's own output comes first; the run's JSON is the last line.
    last = [l for l in r.stdout.splitlines() if l.startswith("{")][-1:]
    try:
        made = json.loads(last[0])["stats"]["calls"]
    except Exception:
        continue  # the run printed no JSON (a test of failure paths)
    compared += 1
    with_calls += made > 0
    if made > bound:
        bad.append("%s: %d calls made, bound %d" % (os.path.relpath(f, suite), made, bound))
print("compared %d programs (%d made calls), %d unbounded" % (compared, with_calls, unbounded), file=sys.stderr)
if bad:
    print("FAIL: the --cost bound is below what a run made:\n  " + "\n  ".join(bad), file=sys.stderr)
    sys.exit(1)
if with_calls < 20:
    print("FAIL: only %d programs with model calls were compared" % with_calls, file=sys.stderr)
    sys.exit(1)
PYEOF
