# weft fmt: the layout it gives a messy program (every token on its line,
# blank lines kept), comments and /// docs kept,
# --check (a unified diff, exit 1; exit 0 once formatted), -w in place, -
# as a filter, CR LF kept, and a file that does not parse left untouched.
. "$TESTDIR/../lib/common.sh"
cd "$tmp" || exit 1
cat >messy.weft <<'W'


/// A finding.
type Finding = {file: string,line:int,  severity: "low"|"medium"|"high"}
role r {model:"mock/r"}   // the reviewer
fn main( files :list[string] )->int{
    let m = {"a": 1, "b":2}
  let fs=barrier fanout f in files limit 4 {ask r "Review {f}: {{literal}}" -> list[Finding]}
        let n = len( fs ) +
    -1   // negative
  let empty: map[int] = {:}
  if n>0 { n } else { -n * 2 % 3 }



}
W
cat >expected.weft <<'W'


/// A finding.
type Finding = { file: string, line: int, severity: "low" | "medium" | "high" }
role r { model: "mock/r" }  // the reviewer
fn main(files: list[string]) -> int {
  let m = {"a": 1, "b": 2}
  let fs = barrier fanout f in files limit 4 { ask r "Review {f}: {{literal}}" -> list[Finding] }
  let n = len(fs) +
    -1  // negative
  let empty: map[int] = {:}
  if n > 0 { n } else { -n * 2 % 3 }



}
W
run "$WEFT" fmt messy.weft
[ "$rc" = 0 ] || fail "fmt: exit $rc: $err"
"$WEFT" fmt messy.weft >got.weft
cmp -s got.weft expected.weft || fail "fmt layout differs:
$(diff expected.weft got.weft)"
# idempotent, and the same bytecode: every token stays on its line, so
# even the line numbers in it are the same
"$WEFT" fmt got.weft >again.weft
cmp -s got.weft again.weft || fail "not idempotent: $(diff got.weft again.weft)"
"$WEFT" build messy.weft -o a.weftc 2>/dev/null && "$WEFT" build got.weft -o b.weftc 2>/dev/null ||
  fail "cannot build the program"
"$WEFT" disasm a.weftc | sed 's/messy\.weft/FILE/' >a.dis
"$WEFT" disasm b.weftc | sed 's/got\.weft/FILE/' >b.dis
cmp -s a.dis b.dis || fail "formatting changed the bytecode: $(diff a.dis b.dis | head)"

# --check: a diff naming the file, exit 1; nothing written
cp messy.weft check.weft
run "$WEFT" fmt --check check.weft
[ "$rc" = 1 ] || fail "--check on a messy file: exit $rc"
case $out in "--- check.weft
+++ check.weft (formatted)
@@ -1,"*) ;; *) fail "--check: not a unified diff: $out" ;; esac
case $out in *"
-fn main( files :list[string] )->int{
"*"
+fn main(files: list[string]) -> int {
"*) ;; *) fail "--check: the changed line is not shown: $out" ;; esac
# the diff applies: patch turns the file into the formatted one
if command -v patch >/dev/null; then
  printf '%s\n' "$out" | sed 's/ (formatted)$//' >fix.diff
  patch -s check.weft fix.diff || fail "patch rejects the diff"
  cmp -s check.weft expected.weft || fail "the patched file is not the formatted one"
  cp messy.weft check.weft
fi
cmp -s check.weft messy.weft || fail "--check changed the file"
run "$WEFT" fmt --check expected.weft
[ "$rc" = 0 ] && [ -z "$out" ] || fail "--check on a formatted file: exit $rc, output '$out'"

# -w rewrites in place (keeping the mode); - is a filter
cp messy.weft w.weft
chmod 640 w.weft
run "$WEFT" fmt -w w.weft
[ "$rc" = 0 ] && [ -z "$out" ] || fail "-w: exit $rc, output '$out'"
cmp -s w.weft expected.weft || fail "-w did not write the layout"
[ "$(stat -c %a w.weft)" = 640 ] || fail "-w changed the file mode to $(stat -c %a w.weft)"
"$WEFT" fmt - <messy.weft >filtered.weft || fail "fmt - failed"
cmp -s filtered.weft expected.weft || fail "fmt - differs from fmt FILE"
run "$WEFT" fmt --check -w w.weft
[ "$rc" = 2 ] || fail "--check with -w: exit $rc, expected 2"

# CR LF line ends stay CR LF
printf 'fn main() {\r\n    print( 1 )\r\n}\r\n' >crlf.weft
"$WEFT" fmt crlf.weft >crlf.out
[ "$(od -An -c crlf.out | tr -d ' \n')" = 'fnmain(){\r\nprint(1)\r\n}\r\n' ] || fail "CR LF not kept: $(od -c crlf.out)"

# a file that does not parse is left alone, with its diagnostics
printf 'fn main( {\n  let = 1\n}\n' >bad.weft
cp bad.weft bad.orig
run "$WEFT" fmt -w bad.weft
[ "$rc" = 1 ] || fail "fmt -w of a file that does not parse: exit $rc"
case $err in *"error[E01"*) ;; *) fail "no diagnostic for the file that does not parse: $err" ;; esac
cmp -s bad.weft bad.orig || fail "a file that does not parse was changed"
"$WEFT" fmt - <bad.weft >bad.out 2>/dev/null
cmp -s bad.out bad.orig || fail "fmt - of a file that does not parse lost its text"

# a directory: every .weft file beneath it
mkdir d && cp messy.weft d/a.weft && cp expected.weft d/b.weft
run "$WEFT" fmt --check d
[ "$rc" = 1 ] || fail "--check of a directory: exit $rc"
case $out in *"--- d/a.weft"*) ;; *) fail "--check of a directory: $out" ;; esac
case $out in *"d/b.weft"*) fail "--check of a directory shows a formatted file: $out" ;; esac
# a keyword naming a field spaces and ends lines as a name: no unary minus
# after `e.in`, no continued line after `e.or`
printf 'type E = { in: int, or: int }\nfn main() {\n  let e: E = {in:1,or:2}\n  let x = e.in-1\n  let y = e.or\n  print(x + y)\n}\n' >kw.weft
printf 'type E = { in: int, or: int }\nfn main() {\n  let e: E = { in: 1, or: 2 }\n  let x = e.in - 1\n  let y = e.or\n  print(x + y)\n}\n' >kw.expected
"$WEFT" fmt kw.weft >kw.out || fail "fmt of keyword field names failed"
cmp -s kw.out kw.expected || fail "keyword field names formatted as keywords: $(cat kw.out)"
exit 0
