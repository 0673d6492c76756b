# examples/claim_check.weft against a local web server: both sources are
# fetched (under --allow-net for the server alone), the verifiers see their
# text, and one claim is refuted by the benchmarks page; without the grant
# every fetch is refused and the claims stay unchecked.
WEB_ROOT="$TESTDIR/data/claim_pages"
. "$TESTDIR/../lib/web.sh"
EX="$TESTDIR/../../examples"
run "$WEFT" run "$EX/claim_check.weft" --no-journal --provider mock --mock-script "$EX/data/claim_check.json" \
  --allow-net=127.0.0.1:$WPORT --trace "$tmp/t.jsonl" \
  --arg "sources=[\"$WBASE/files/release-2.3.html\", \"$WBASE/files/benchmarks.html\"]"
expect_rc 0 "claim_check"
expect_out "HOLDS   The cache evicts the least recently used entry."
expect_out "REFUTED Startup takes under 100 ms on every supported platform. — cold start on Windows takes 240 ms"
expect_out "HOLDS   2.2 config files load unchanged."
expect_out "2 of 3 claims hold"
contains "$out" "UNREACHABLE" && fail "a source was not fetched: $out"
n=$(weblog | "$WPY" -c 'import json,sys; print(len([e for e in json.load(sys.stdin) if e["path"].startswith("/files/")]))')
[ "$n" = 2 ] || fail "expected 2 page fetches, saw $n: $(weblog)"
# the fetched text reached the verifiers' prompts
grep -q "Windows (cold start)" "$tmp/t.jsonl" || fail "the verifiers did not get the fetched text"

# a source that is missing is reported, the others still count
run "$WEFT" run "$EX/claim_check.weft" --no-journal --provider mock --mock-script "$EX/data/claim_check.json" \
  --allow-net=127.0.0.1:$WPORT \
  --arg "sources=[\"$WBASE/files/release-2.3.html\", \"$WBASE/files/gone.html\"]"
expect_rc 0 "claim_check with a missing page"
expect_out "UNREACHABLE $WBASE/files/gone.html — HTTP 404"
expect_out "claims hold"
exit 0
