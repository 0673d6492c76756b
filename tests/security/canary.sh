# A canary API key must appear nowhere. Every program of the suite and of
# examples/ that has roles or imports is checked (text and --json) and run
# with canary keys, against
# the local test server (whose faults echo keys back, whole and masked), with
# a trace, a cassette and the journal; then `weft runs`, `weft show`,
# `weft trace` and the HTML page are produced for every run. Every byte
# printed and every file written is searched for the key, its first 8
# characters, its masked form (`***` + last 4) and its base64 encodings.
. "$TESTDIR/../lib/server.sh"

ANTHROPIC_API_KEY=sk-ant-cnry-Script2-Anthropic-Vb9P
OPENAI_API_KEY=sk-cnry-Script2-OpenAI-Hm3T
export ANTHROPIC_API_KEY OPENAI_API_KEY
SUITE=$(cd "$TESTDIR/.." && pwd)
EXAMPLES=$(cd "$TESTDIR/../../examples" && pwd)
mkdir -p "$tmp/out" "$tmp/trace" "$tmp/cassette" "$tmp/html" "$tmp/work"

# scan DIR: prints each file below DIR holding a form of a canary key.
scan() {
  "$PY" - "$1" "$ANTHROPIC_API_KEY" "$OPENAI_API_KEY" <<'PYEOF'
import base64, os, sys
root, keys = sys.argv[1], sys.argv[2:]
forms = []
for k in keys:
    kb = k.encode()
    forms += [(kb, "the key"), (kb[:8], "its first 8 characters"), (b"*" + kb[-4:], "its masked form")]
    for a in range(3):
        body = kb[a:]
        body = body[: len(body) // 3 * 3]
        forms.append((base64.b64encode(body), "its base64 form"))
hits = 0
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        if f in ("server.log", "server.port") or os.path.islink(p):
            continue  # the test server's own files (it is sent the key); planted links
        with open(p, "rb") as fh:
            data = fh.read()
        for needle, what in forms:
            if needle in data:
                print("%s: %s" % (os.path.relpath(p, root), what))
                hits += 1
                break
sys.exit(1 if hits else 0)
PYEOF
}

# The scan itself can fail: a planted masked key and a base64 one are found.
mkdir "$tmp/plant"
printf 'error: invalid x-api-key sk-ant-c***Vb9P\n' >"$tmp/plant/masked"
printf 'Authorization: Basic %s\n' "$(printf 'user:%s' "$OPENAI_API_KEY" | base64 -w0)" >"$tmp/plant/b64"
n=$(scan "$tmp/plant" | wc -l)
[ "$n" = 2 ] || fail "the scan found $n of 2 planted keys: $(scan "$tmp/plant")"
rm -rf "$tmp/plant"

k=0
# exercise FILE: check (text, --json) and run FILE as the runner would, with
# a trace and a cassette; output goes to $tmp/out.
exercise() {
  k=$((k + 1))
  dir=$(dirname "$1")
  args=$(sed -n 's#^// args: ##p' "$1" | head -n 1)
  (
    cd "$dir" || exit 0
    "$WEFT" check "$1" >"$tmp/out/$k.check" 2>&1
    "$WEFT" check --json "$1" >"$tmp/out/$k.json" 2>&1
    # shellcheck disable=SC2086
    timeout 20 "$WEFT" run "$1" $args --trace "$tmp/trace/$k.jsonl" \
      --record "$tmp/cassette/$k.json" >"$tmp/out/$k.run" 2>&1
  ) </dev/null
}

# The programs that reach for keys or files: roles, asks, the constructs
# built on asks, imports. (Every other test's output is searched by the
# runner itself.)
for f in $(find "$SUITE" "$EXAMPLES" -name '*.weft' ! -path '*/fuzz/*' |
  xargs grep -l -E 'role |ask |verify|tournament|import ' | sort); do
  exercise "$f"
done
# Hostile programs that go looking for the keys: the environment as an
# import, the same through a symlink beside the program, and a process's
# environment by absolute path.
ln -s /proc/self/environ "$tmp/work/env.weft"
printf 'import "/proc/self/environ"\nfn main() -> int { 0 }\n' >"$tmp/work/abs.weft"
printf 'import "./env.weft"\nfn main() -> int { 0 }\n' >"$tmp/work/link.weft"
printf 'import "../../../../../../../proc/self/environ"\nfn main() -> int { 0 }\n' >"$tmp/work/dots.weft"
for f in abs link dots; do
  exercise "$tmp/work/$f.weft"
done

# The faults that make a provider echo the key, both providers, both modes.
for p in anthropic openai; do
  for f in ok fault-401 fault-echokey fault-vllm401 fault-400 fault-500noretry fault-midstream; do
    file=$(prog ask_text "$p" "$f")
    for mode in "" --no-stream; do
      k=$((k + 1))
      "$WEFT" run "$file" $mode --retries 0 --repairs 0 --timeout 2s --json \
        --trace "$tmp/trace/$k.jsonl" --record "$tmp/cassette/$k.json" \
        >"$tmp/out/$k.run" 2>&1 </dev/null
    done
  done
done
[ "$(stats requests)" -gt 0 ] || fail "no request reached the test server"

# Every view of every journaled run.
"$WEFT" runs >"$tmp/out/runs" 2>&1 || fail "weft runs failed: $(cat "$tmp/out/runs")"
"$WEFT" runs --json >"$tmp/out/runs.json" 2>&1 || fail "weft runs --json failed"
ids=$("$PY" -c 'import json,sys; print(" ".join(str(r["id"]) for r in json.load(open(sys.argv[1]))))' \
  "$tmp/out/runs.json") || fail "weft runs --json is not a list of runs: $(head -c 300 "$tmp/out/runs.json")"
[ -n "$ids" ] || fail "no run was journaled"
for id in $ids; do
  "$WEFT" show "$id" >"$tmp/out/show.$id" 2>&1
  "$WEFT" show "$id" --json >"$tmp/out/show.$id.json" 2>&1
  "$WEFT" trace "$id" >"$tmp/out/trace.$id" 2>&1
  "$WEFT" trace "$id" --html "$tmp/html/$id.html" >"$tmp/out/html.$id" 2>&1
done
[ -s "$tmp/journal.db" ] || fail "the journal was not written"
ls "$tmp/html" | grep -q html || fail "no HTML page was written"

leaks=$(scan "$tmp") || fail "a canary key leaked:
$leaks"
exit 0
