# Two failures in a row, then success: 3 requests with
# x-stainless-retry-count 0, 1, 2, and the backoff grows (about 0.5 s then
# 1 s, each shortened by up to 25 %). Both providers.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  t0=$(now_ms)
  ask ask_text "$p" fault-503-2-then-ok --arg p=twice
  t1=$(now_ms)
  expect_rc 0 "$p 503 twice then ok"
  same_json "$(stats retry_counts_by_prompt)" '{"twice": [0, 1, 2]}' ||
    fail "$p 503 twice: retry counts $(stats retry_counts_by_prompt)"
  [ $((t1 - t0)) -ge 1100 ] || fail "$p 503 twice: backoff too short ($((t1 - t0)) ms)"
done
exit 0
