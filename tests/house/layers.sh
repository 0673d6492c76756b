# The layers hold: every #include "..." in the sources names a header of a
# folder this folder may include (docs/architecture.md has the table), and
# the files of cli/ include no header of each other in a cycle.
. "$TESTDIR/../lib/common.sh"
SRC=$(cd "$TESTDIR/../.." && pwd)
cd "$SRC" || exit 1
# folder: the folders its files may include (besides its own and base/)
allowed() {
  case $1 in
    base) echo "" ;;
    lang) echo "" ;;
    vm) echo "" ;;
    compiler) echo "lang vm" ;;
    stdlib) echo "vm" ;;
    runtime) echo "vm compiler stdlib lang include" ;;
    include) echo "" ;;
    cli) echo "include" ;;
  esac
}
bad=""
n=0
for dir in base lang vm compiler stdlib runtime include cli; do
  [ -d "$dir" ] || continue
  for f in $(find "$dir" -name '*.[ch]' -o -name '*.re' -o -name '*.y' -o -name '*.def' | sort); do
    case $f in lang/parser.[ch] | lang/lexer.c | stdlib/embedded.c) continue ;; esac
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
      n=$((n + 1))
      [ "$inc" = config.h ] && continue
      target=$(cd "$(dirname "$f")" && realpath -m "$inc")
      tdir=${target#"$SRC"/}
      tdir=${tdir%%/*}
      [ "$tdir" = "$dir" ] || [ "$tdir" = base ] && continue
      case " $(allowed "$dir") " in
        *" $tdir "*) ;;
        *) bad="$bad
  $f includes $inc ($tdir/ is not below $dir/)" ;;
      esac
    done
  done
done
[ "$n" -gt 100 ] || fail "only $n includes were read: is the source tree where it should be?"
[ -z "$bad" ] || fail "forbidden includes:$bad"
# cli/: no cycle of includes between its files (a header per command, included by weft.c only)
for h in cli/*.h; do
  [ -f "$h" ] || continue
  for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$h"); do
    case $inc in
      ../*) ;;
      *) fail "$h includes $inc: a header of cli/ includes another file of cli/" ;;
    esac
  done
done
exit 0
