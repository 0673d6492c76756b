#!/usr/bin/env python3
"""signatures.py — the standard library section of `weft guide` lists every
native of stdlib/natives.def (but no internal one) and every type and
function of the std modules exactly as the sources declare them.

    signatures.py GUIDE.md SRCDIR

Prints each problem and exits 1 if there is one. Spaces and commas are
ignored in the comparison (the guide puts a declaration on one line);
everything else must match.
"""
import re
import sys

MODULES = [('prelude', ''), ('patterns', 'p.'), ('fs', 'fs.'), ('proc', 'proc.'), ('http', 'http.')]
LOWERING_ONLY = {'verdict_one', 'verdict_quorum'}


def squeeze(s):
    return re.sub(r'[\s,]', '', s)


def strip_comments(line):
    out, i, quoted = [], 0, False
    while i < len(line):
        c = line[i]
        if c == '"':
            quoted = not quoted
        elif not quoted and line.startswith('//', i):
            break
        out.append(c)
        i += 1
    return ''.join(out)


def declarations(text):
    """(kind, name, text) of each top-level type and fn, comments dropped."""
    lines = text.split('\n')
    i = 0
    while i < len(lines):
        m = re.match(r'^(type|fn) ([A-Za-z_][A-Za-z0-9_]*)', lines[i])
        if not m:
            i += 1
            continue
        kind, name, decl, depth = m.group(1), m.group(2), [], 0
        while i < len(lines):
            code = strip_comments(lines[i])
            decl.append(code)
            depth += sum(code.count(c) for c in '([') - sum(code.count(c) for c in ')]')
            i += 1
            if kind == 'fn' and depth == 0 and code.rstrip().endswith('{'):
                decl[-1] = code.rstrip()[:-1]
                break
            if kind == 'type':
                braces = sum(strip_comments(l).count('{') - strip_comments(l).count('}') for l in decl)
                if depth == 0 and braces == 0 and not code.rstrip().endswith(('=', '|', ',')):
                    break
        yield kind, name, ' '.join(decl)


def main():
    guide = open(sys.argv[1], encoding='utf-8').read()
    src = sys.argv[2]
    lines = set(squeeze(l.split(' — ')[0]) for l in guide.split('\n'))
    problems, n = [], 0
    for line in open(src + '/stdlib/natives.def', encoding='utf-8'):
        m = re.match(r'^(NATIVE|NATIVE_INTERNAL)\("([^"]*)", "[^"]*", "([^"]*)"', line)
        if not m:
            continue
        want = squeeze(m.group(2) + m.group(3))
        if m.group(1) == 'NATIVE_INTERNAL':
            if any(l.startswith(squeeze(m.group(2)) + '(') for l in lines):
                problems.append('internal native %s is listed' % m.group(2))
        elif want not in lines:
            problems.append('native %s%s is not listed as written' % (m.group(2), m.group(3)))
        n += 1
    for module, prefix in MODULES:
        text = open('%s/stdlib/%s.weft' % (src, module), encoding='utf-8').read()
        for kind, name, decl in declarations(text):
            body = decl[len(kind) + 1:]
            want = squeeze(('type ' if kind == 'type' else prefix) + body)
            listed = want in lines
            if name in LOWERING_ONLY:
                if any(l.startswith(squeeze(prefix + name) + '(') for l in lines):
                    problems.append('lowering-only %s is listed' % name)
            elif not listed:
                problems.append('%s: %s %s is not listed as written: %s' % (module, kind, name, want))
            n += 1
    for p in problems:
        print(p)
    print('%d declarations checked' % n)
    sys.exit(1 if problems or n < 120 else 0)


main()
