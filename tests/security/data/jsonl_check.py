# jsonl_check.py — checks a trace (JSON lines) for forgery: every line is
# one JSON object with no key given twice, "ev" and "addr" are strings, and
# no event pretends to come from a model call it is not.
#
#   python3 jsonl_check.py FILE|- [--forbid-addr ADDR]... [--count EV N]...
#
# Prints the problem and exits 1; exits 0 when the trace is sound.
import json
import sys


def pairs(kv):
    seen = set()
    for k, _ in kv:
        if k in seen:
            raise ValueError("key %r given twice" % k)
        seen.add(k)
    return dict(kv)


def main(argv):
    path, rest = argv[1], argv[2:]
    forbid, counts = [], {}
    while rest:
        if rest[0] == "--forbid-addr":
            forbid.append(rest[1])
            rest = rest[2:]
        elif rest[0] == "--count":
            counts[rest[1]] = int(rest[2])
            rest = rest[3:]
        else:
            sys.exit("jsonl_check: unknown argument %r" % rest[0])
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    seen = {}
    for i, line in enumerate(text.split("\n")):
        if line == "" and i == len(text.split("\n")) - 1:
            break
        try:
            ev = json.loads(line, object_pairs_hook=pairs)
        except ValueError as e:
            print("line %d is not one JSON object (%s): %r" % (i + 1, e, line[:200]))
            return 1
        if not isinstance(ev, dict) or not isinstance(ev.get("ev"), str):
            print("line %d has no event name: %r" % (i + 1, line[:200]))
            return 1
        if ev.get("addr") in forbid:
            print("line %d is a forged event at %s: %r" % (i + 1, ev["addr"], line[:200]))
            return 1
        if ev["ev"] == "ask" and "model" not in ev:
            print("line %d is an ask event no model call wrote: %r" % (i + 1, line[:200]))
            return 1
        seen[ev["ev"]] = seen.get(ev["ev"], 0) + 1
    for ev, n in counts.items():
        if seen.get(ev, 0) != n:
            print("%d %s events, expected %d" % (seen.get(ev, 0), ev, n))
            return 1
    return 0


sys.exit(main(sys.argv))
