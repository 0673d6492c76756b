# Every ```weft block of `weft guide` compiles with the real compiler, by
# the mechanism that checks the docs' blocks (tests/docs/doc_examples.py):
# a block is a complete program, or a `weft fragment` whose items stay
# items and whose statements are wrapped in a function; `// E0611` on a
# line of a block means that error is expected there and nowhere else.
. "$TESTDIR/../lib/common.sh"
command -v python3 >/dev/null || fail "python3 is needed (./bootstrap --tests installs it)"
"$WEFT" guide >"$tmp/guide.md" || fail "weft guide failed"
python3 "$TESTDIR/../docs/doc_examples.py" "$WEFT" "$tmp/guide.md" >"$tmp/log" 2>&1 ||
  fail "$(grep -v '^ok ' "$tmp/log")"
n=$(tail -n 1 "$tmp/log" | sed -n 's/^\([0-9]*\) examples.*/\1/p')
[ "${n:-0}" -ge 10 ] || fail "only ${n:-0} examples in the guide: $(tail -n 1 "$tmp/log")"
# every construct the guide promises has an example that uses it
for word in "ask " "fanout " "barrier " "tolerate " "first " "verify " "quorum " "tournament " \
  "loop " "until " "match " "try " "budget " "tools:" "std/fs" "std/proc" "std/http" \
  "std/patterns" "fn main(task: string, input: json) -> string"; do
  awk '/^```weft/{on=1; next} /^```/{on=0} on' "$tmp/guide.md" | grep -qF -- "$word" ||
    fail "no example of the guide uses '$word'"
done
# each complete workflow runs under the mock as the guide says to run it
# (those of std/fs, std/proc and std/http need grants, and are only checked)
python3 - "$WEFT" "$tmp/guide.md" "$tmp" <<'PY' || fail "a workflow of the guide does not run"
import os, re, subprocess, sys
weft, guide, tmp = sys.argv[1:]
n = 0
for i, body in enumerate(re.findall(r'^```weft\n(.*?)^```', open(guide, encoding='utf-8').read(), re.S | re.M)):
    if 'fn main(task: string, input: json) -> string' not in body or re.search(r'std/(fs|proc|http)', body):
        continue
    path = os.path.join(tmp, 'ex%d.weft' % i)
    open(path, 'w', encoding='utf-8').write(body)
    r = subprocess.run([weft, 'run', path, '--provider', 'mock', '--arg', 'task=t', '--arg', 'input={"n": 1}'],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        print('example %d does not run: %s\n%s' % (i, r.stderr[-400:], body))
        sys.exit(1)
    n += 1
if n < 6:
    print('only %d runnable workflows' % n)
    sys.exit(1)
PY
# the checker of examples catches a broken one in the guide's own format
printf '```weft\nfn main(task: string, input: json) -> string { 1 }\n```\n' >"$tmp/bad.md"
python3 "$TESTDIR/../docs/doc_examples.py" "$WEFT" "$tmp/bad.md" >/dev/null 2>&1 &&
  fail "a broken example passed"
exit 0
