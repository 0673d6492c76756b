# The JSON Schema an ask for a tagged union sends, in both dialects (plain
# for the mock provider, strict for Anthropic and OpenAI): an anyOf with one
# object per variant whose `type` is a one-value enum (no "discriminator"),
# wrapped in {"value": …} since the top must be an object; strict makes the
# optional field required and nullable. Golden files: data/schema_plain.json,
# data/schema_strict.json. The server answers from the schema: the program
# gets the first variant.
. "$TESTDIR/../lib/server.sh"

for p in mock anthropic openai; do
  cat >"$tmp/s.weft" <<W
role r { model: "$p/gpt-ok" }

/// What to do next.
type Step = Search { query: string, limit: int? } | Answer { text: string } | Giveup {}

fn main() -> Step {
  ask r "next" -> Step
}
W
  rm -f "$tmp/c.json"
  run "$WEFT" run --no-journal --record "$tmp/c.json" "$tmp/s.weft"
  expect_rc 0 "$p: run"
  case $p in
    mock) dialect=plain; contains "$out" '"type":"' || fail "$p: got $out" ;;
    *) dialect=strict; same_json "$out" '{"type":"Search","query":"text","limit":1}' || fail "$p: got $out" ;;
  esac
  got=$("$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["effects"][0]["request"]["schema"], sort_keys=True))' "$tmp/c.json") ||
    fail "$p: no schema in the cassette: $(cat "$tmp/c.json")"
  want=$("$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$DATA/schema_$dialect.json")
  [ "$got" = "$want" ] || fail "$p: schema differs from data/schema_$dialect.json:
got:  $got
want: $want"
  case "$got" in *discriminator*) fail "$p: a discriminator keyword" ;; esac
done
exit 0
