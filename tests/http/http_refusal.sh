# A refusal (Anthropic stop_reason "refusal", OpenAI message.refusal) ends
# the ask with an error that says the model refused; text and typed asks,
# both providers, streaming and not.
. "$TESTDIR/../lib/server.sh"

for p in anthropic openai; do
  for mode in "" --no-stream; do
    for pr in ask_text typed_record; do
      ask "$pr" "$p" fault-refusal $mode
      expect_rc 1 "$p $pr $mode refusal"
      expect_no_out "$p $pr refusal"
      expect_err "refus"
      expect_err scribe
    done
  done
done
exit 0
