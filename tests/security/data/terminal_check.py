# terminal_check.py — byte checks for the terminal-output tests (tests/security/terminal_*.sh).
#   clean FILE...         no raw terminal control in FILE: no C0 byte but \n and \t,
#                         no DEL, no C1 (U+0080-U+009F), no bidi control, valid UTF-8
#   json FILE PATH WANT   FILE is one JSON document whose value at PATH
#                         (dot-separated; digits index lists) is exactly the
#                         text in file WANT
#   jsonl FILE            every line of FILE is a JSON document
import json, sys

BIDI = {0x061C, 0x200E, 0x200F} | set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))


def bad(path):
    data = open(path, 'rb').read()
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        return 'invalid UTF-8 at byte %d' % e.start
    for i, ch in enumerate(text):
        c = ord(ch)
        if (c < 0x20 and ch not in '\n\t') or 0x7F <= c <= 0x9F or c in BIDI:
            return 'raw U+%04X at character %d: %r' % (c, i, text[max(0, i - 20):i + 20])
    return None


def at(doc, path):
    for part in path.split('.') if path else []:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


cmd = sys.argv[1]
if cmd == 'clean':
    for p in sys.argv[2:]:
        why = bad(p)
        if why:
            print('%s: %s' % (p, why))
            sys.exit(1)
elif cmd == 'json':
    raw = open(sys.argv[2], 'rb').read().decode('utf-8')
    want = open(sys.argv[4], 'rb').read().decode('utf-8')
    got = at(json.loads(raw), sys.argv[3])
    if got != want:
        print('%s at %s: %r, expected %r' % (sys.argv[2], sys.argv[3], got, want))
        sys.exit(1)
elif cmd == 'jsonl':
    for n, line in enumerate(open(sys.argv[2], encoding='utf-8'), 1):
        try:
            json.loads(line)
        except ValueError as e:
            print('%s:%d: not JSON: %s' % (sys.argv[2], n, e))
            sys.exit(1)
else:
    sys.exit(2)
