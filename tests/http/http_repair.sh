# A 200 reply that does not fit the type is repaired (asked again with the
# error quoted back), counted apart from transport retries: the re-ask is a
# new conversation turn (an assistant message in the request) and carries
# x-stainless-retry-count: 0. Repairs stop after the default 2.
. "$TESTDIR/../lib/server.sh"

want_item='{"name":"text","level":"low","note":"text","count":1,"score":1.5,"ok":true}'
for p in anthropic openai; do
  for f in badschema notjson; do
    ask typed_record "$p" "fault-$f-then-ok" --json
    expect_rc 0 "$p $f then ok"
    same_json "$(printf %s "$out" | "$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["result"]))')" "$want_item" ||
      fail "$p $f: got $out"
    [ "$(jstat repairs)/$(jstat retries)/$(jstat attempts)" = 1/0/2 ] ||
      fail "$p $f: weft counted repairs/retries/attempts $(jstat repairs)/$(jstat retries)/$(jstat attempts), expected 1/0/2"
    [ "$(attempts)" = 2 ] || fail "$p $f: $(attempts) requests, expected 2"
    [ "$(repairs)" = 1 ] || fail "$p $f: $(repairs) repairs, expected 1"
    no_retries_sent ||
      fail "$p $f: a repair was sent as a retry: $(stats retry_counts_by_prompt)"
  done

  ask typed_list "$p" fault-badschema
  expect_rc 1 "$p badschema forever"
  expect_no_out "$p badschema forever"
  [ "$(attempts)" = 3 ] || fail "$p badschema forever: $(attempts) requests, expected 1 + 2 repairs"
  expect_err scribe

  # A transport retry and a repair in one ask.
  # The server fails attempt 0 with 503, answers attempt 1 with JSON that
  # does not fit, and the repair (which carries the ask's retry count 1 or,
  # like a fresh SDK request, 0 — then it meets one more 503) succeeds.
  ask typed_record "$p" "fault-503-then-ok+fault-badschema-then-ok" --no-stream --json
  expect_rc 0 "$p 503 then badschema then ok"
  [ "$(jstat repairs)" = 1 ] || fail "$p 503+badschema: $(jstat repairs) repairs"
  [ "$(repairs)" -ge 1 ] || fail "$p 503+badschema: the server saw no repair"
  case "$(jstat retries)/$(jstat attempts)/$(attempts)" in
    1/3/3 | 2/4/4) ;;
    *) fail "$p 503+badschema: retries/attempts/server requests $(jstat retries)/$(jstat attempts)/$(attempts)" ;;
  esac
done
exit 0
