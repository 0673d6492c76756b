#!/bin/sh
# gen_big.sh N — prints a Weft program of about N lines: records, functions,
# matches, loops and lambdas, the mix a real workflow template has.
n=${1:-10000}
i=0
echo 'type Item = { name: string, score: int, tag: "a" | "b" | "c", note: string? }'
while [ $((i * 10)) -lt "$n" ]; do
  cat <<W
/// Function number $i.
fn f$i(items: list[Item], k: int) -> int {
  var total = 0
  for it in items {
    let bonus = match it.tag { "a" => 1, "b" => 2, "c" => 3 }
    if it.score > k { total = total + it.score * bonus } else { total = total - 1 }
  }
  let names = map(items, fn(x) => "{x.name}-$i")
  total + len(names)
}
W
  i=$((i + 1))
done
echo 'fn main() -> int { f0([{ name: "x", score: 3, tag: "a" }], 1) }'
