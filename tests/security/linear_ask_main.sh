# A doubling type as an ask's reply type and as main's input and result:
# building the module (descriptors), listing it, generating the reply's
# JSON Schema, converting inputs and replies, and every message that names
# the type stay bounded in time and size. With names (T0 .. T40) the type
# prints as `T0`; without (G0[int], anonymous records below the top) it
# prints up to a cap and then "…", and the JSON Schema refers to each
# shared part by "$ref" instead of expanding 2^40 nodes.
. "$TESTDIR/../lib/common.sh"
. "$TESTDIR/../lib/doubling.sh"

N=40
for kind in record nest; do
  if [ $kind = record ]; then T=T0; else T='G0[int]'; fi
  f="$tmp/$kind.weft"
  {
    doubling_types $kind $N
    echo 'role r { model: "mock/m" }'
    echo "fn main(x: $T? = none, ask_it: bool = false) -> $T? {"
    echo "  if ask_it { let _r = ask r \"hi\" -> $T }"
    echo '  x'
    echo '}'
  } >"$f"
  check_within 5 "$kind: check" "$f"
  expect_rc 0 "$kind: check: $err"
  within 5 "$kind: build" "$WEFT" build "$f" -o "$tmp/$kind.weftc"
  expect_rc 0 "$kind: build"
  within 5 "$kind: disasm" "$WEFT" disasm "$tmp/$kind.weftc"
  expect_rc 0 "$kind: disasm"
  # main's result, none: printed
  within 5 "$kind: run" "$WEFT" run --quiet "$tmp/$kind.weftc"
  expect_rc 0 "$kind: run: $err"
  expect_out "null"
  # an input that does not fit: one bounded message
  within 5 "$kind: input" "$WEFT" run --quiet "$tmp/$kind.weftc" --arg 'x={"a": 1}'
  expect_rc 2 "$kind: input"
  expect_err "expected"
  # the ask: its schema names each shared type once ($defs), but no reply
  # of 2^40 required leaves fits, so the mock's reply fails validation
  within 5 "$kind: ask" "$WEFT" run --quiet "$tmp/$kind.weftc" --arg ask_it=true
  expect_rc 1 "$kind: ask"
  expect_err "reply does not match"
done

# A smaller anonymous type (2^12 leaves) has a schema; a reply that does
# not fit it is reported with the type printed up to the message cap.
f="$tmp/reply.weft"
{
  doubling_types nest 12
  echo 'role r { model: "mock/m", repairs: 0 }'
  echo 'fn main() -> int { let _r = ask r "hi" -> G0[int]'
  echo '  0 }'
} >"$f"
printf '{"replies": [{"reply": "{\\"a\\": 1}"}]}\n' >"$tmp/script.json"
within 10 "reply" "$WEFT" run --quiet "$f" --mock-script "$tmp/script.json"
expect_rc 1 "reply"
expect_err "reply does not match"
expect_err "…"
[ "$(wc -c <"$tmp/.err")" -lt 8192 ] || fail "reply: the error is $(wc -c <"$tmp/.err") bytes"
