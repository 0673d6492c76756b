# The limits of an untrusted run where the operator gives none
# (docs/security.md, "Untrusted programs"), shown in the help and held by
# the run: 10^8 instructions, 256M, 1000 calls deep, 1000 fibers, 100 model
# calls. The operator's own flags win; an ordinary run keeps its defaults.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || fail "cd"

# The help of every command that runs or checks a program shows them.
for c in run resume replay; do
  run "$WEFT" "$c" --help
  expect_rc 0 "weft $c --help"
  for want in "--untrusted" "--models P/M,..." "--allow-import, --import-path DIR" \
      "(default 1000000000;" "--untrusted: 100000000)" "(default 1G;" "--untrusted: 256M)" \
      "(default 10000;" "--untrusted: 1000)" "live fibers (default 100000; --untrusted: 1000)" \
      "--untrusted: 100 when not given" "--untrusted: 10m when not given"; do
    expect_out "$want"
  done
done
run "$WEFT" check --help
expect_rc 0 "weft check --help"
expect_out "--untrusted"
expect_out "--models P/M,..."
expect_out "(E0621)"

printf 'fn d(n: int) -> int { if n == 0 { 0 } else { 1 + d(n - 1) } }\nfn main(n: int) -> int { d(n) }\n' >deep.weft
printf 'fn main(n: int) -> int {\n  loop s = 0 max n { s + 1 } until s < 0 else s\n}\n' >busy.weft
printf 'fn main(n: int) -> int {\n  var s = "0123456789abcdef"\n  for i in range(n) { s = s + s }\n  len(s)\n}\n' >mem.weft
cat >fibers.weft <<'W'
fn main(n: int) -> int {
  let t = fanout x in range(n) {
    let u = fanout y in [x] { y }
    len(barrier u)
  }
  len(barrier t)
}
W
cat >calls.weft <<'W'
role r { model: "mock/m" }
fn main(n: int) -> int {
  var k = 0
  for i in range(n) {
    let _a = ask r "question {i}"
    k = k + 1
  }
  k
}
W

# limits PROGRAM N MESSAGE: the ordinary run succeeds, the untrusted one
# stops with MESSAGE.
limits() {
  run "$WEFT" run --no-journal --quiet "$1" --arg "n=$2"
  expect_rc 0 "an ordinary run of $1 with n=$2"
  run "$WEFT" run --no-journal --quiet --untrusted "$1" --arg "n=$2"
  expect_rc 1 "an untrusted run of $1 with n=$2"
  expect_err "$3"
}
limits deep.weft 2000 "call depth limit (1000) exceeded"
limits busy.weft 20000000 "instruction limit (100000000) exceeded"
limits fibers.weft 1500 "fiber limit (1000) exceeded"
limits calls.weft 101 "budget exhausted: calls 100/100"
run "$WEFT" run --no-journal --quiet --untrusted mem.weft --arg n=24
expect_rc 1 "an untrusted run doubling a string to 256 MiB"
expect_err "memory limit (268435456 bytes) exceeded"

# A program's own budget nests inside the run's: more calls inside still
# stop at the run's 100.
cat >inner.weft <<'W'
role r { model: "mock/m" }
fn main(n: int) -> int {
  budget { calls: 10000 } {
    var k = 0
    for i in range(n) {
      let _a = ask r "question {i}"
      k = k + 1
    }
    k
  } else { -1 }
}
W
run "$WEFT" run --no-journal --quiet inner.weft --arg n=101
expect_rc 0 "an ordinary run with an inner budget of 10000 calls"
expect_out "101"
run "$WEFT" run --no-journal --quiet --untrusted inner.weft --arg n=101
expect_rc 1 "an untrusted run with an inner budget of 10000 calls"
expect_err "budget exhausted: calls 100/100"

# Under them, the same programs run.
run "$WEFT" run --no-journal --quiet --untrusted calls.weft --arg n=100
expect_rc 0 "100 calls"
expect_out "100"
run "$WEFT" run --no-journal --quiet --untrusted deep.weft --arg n=900
expect_rc 0 "900 calls deep"

# The operator's flags win over the untrusted defaults, both ways.
run "$WEFT" run --no-journal --quiet --untrusted --max-call-depth 5000 deep.weft --arg n=2000
expect_rc 0 "--max-call-depth 5000"
expect_out "2000"
run "$WEFT" run --no-journal --quiet --untrusted --budget-calls 200 calls.weft --arg n=101
expect_rc 0 "--budget-calls 200"
run "$WEFT" run --no-journal --quiet --untrusted --budget-calls 3 calls.weft --arg n=4
expect_rc 1 "--budget-calls 3"
expect_err "budget exhausted: calls 3/3"
run "$WEFT" run --no-journal --quiet --untrusted --max-fibers 5000 fibers.weft --arg n=1500
expect_rc 0 "--max-fibers 5000"
exit 0
