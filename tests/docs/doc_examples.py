#!/usr/bin/env python3
"""doc_examples.py — every Weft example in the docs is compiled, and run where
it shows its output, so the docs cannot drift from what ships.

    doc_examples.py WEFT FILE.md...

What each kind of fenced block means, and the HTML comments that give a block
its hidden context, are described once, in docs/testing.md ("Examples in the
docs").

Prints one line per block (`ok`/`FAIL FILE:LINE ...`) and exits 1 if any
failed. A block may not contain `…`: an example that does not compile is not
an example.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

ITEM_START = re.compile(r'^(///|type |fn |role |import |pub )')
EXPECTED = re.compile(r'//\s*(?:expect error\[)?(E\d{4})\b')
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def blocks(path):
    """Yields (line, info, body, context, args, output) for each Weft block."""
    lines = open(path, encoding='utf-8').read().split('\n')
    found = []  # [line, info, body, context, args, output, closing fence, files]
    ctx, args, files = [], None, {}  # from HTML comments right before a block
    orphans, last_fence = [], -1
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r'^<!--\s*weft (context|args:|file)(.*)$', line)
        if m:
            text = [m.group(2)]
            while '-->' not in text[-1] and i + 1 < len(lines):
                i += 1
                text.append(lines[i])
            text = '\n'.join(text).split('-->')[0]
            if m.group(1) == 'context':
                ctx = [l for l in text.split('\n') if l.strip()]
            elif m.group(1) == 'file':
                name, _, content = text.strip(' ').partition('\n')
                files[name.strip()] = content
            else:
                args = text.strip()
        elif line.startswith('```'):
            info = ' '.join(line[3:].split())
            j = i + 1
            while j < len(lines) and not lines[j].startswith('```'):
                j += 1
            body = lines[i + 1:j]
            word = info.split(' ')[0]
            if word == 'weft':
                found.append([i + 2, info, body, ctx, args, None, j, files])
            elif word == 'output':
                if not found or found[-1][5] is not None or last_fence != found[-1][6]:
                    orphans.append(i + 1)
                else:
                    found[-1][5] = body
            ctx, args, files = [], None, {}
            last_fence = j
            i = j
        elif line.strip():
            ctx, args, files = [], None, {}
        i += 1
    for line in orphans:
        yield line, 'output', [], [], None, None, {}
    for b in found:
        yield b[0], b[1], b[2], b[3], b[4], b[5], b[7]


def split_items(lines):
    """Top-level items (from a line starting an item to where brackets close)
    and the statements in between."""
    items, stmts, depth, in_item = [], [], 0, False
    for n, line in enumerate(lines):
        if depth == 0 and not in_item and ITEM_START.match(line):
            in_item = True
        (items if in_item else stmts).append((n, line))
        code = re.sub(r'"([^"\\]|\\.)*"', '""', line.split('//')[0] if not line.lstrip().startswith('///') else '')
        depth += code.count('{') + code.count('(') + code.count('[')
        depth -= code.count('}') + code.count(')') + code.count(']')
        if in_item and depth <= 0 and not line.rstrip().endswith(('=', '|', ',', '->')) \
                and not line.lstrip().startswith('///'):
            in_item, depth = False, 0
    return items, stmts


def assemble(info, body, context):
    """The program text and a map from its lines to the block's lines."""
    kind = info.split(' ')
    out, where = [], []

    def emit(text, origin):
        out.append(text)
        where.append(origin)

    if kind[1:2] == ['builtin']:
        name = kind[2]
        emit('fn __fields(v: %s) {' % name, None)
        for n, line in enumerate(body):
            m = re.match(r'^\s*([a-z_][a-z0-9_]*)\s*:\s*([^/]*?),?\s*(//.*)?$', line)
            if m:
                emit('  let __%s: %s = v.%s' % (m.group(1), m.group(2).rstrip(','), m.group(1)), n)
        emit('}', None)
        return '\n'.join(out) + '\n', where
    citems, cstmts = split_items(context)
    items, stmts = split_items(body) if kind[1:2] == ['fragment'] else ([(n, l) for n, l in enumerate(body)], [])
    for _, line in citems:
        emit(line, None)
    for n, line in items:
        emit(line, n)
    if stmts or cstmts:
        emit('fn __example() {', None)
        for _, line in cstmts:
            emit('  ' + line, None)
        for n, line in stmts:
            emit('  ' + line, n)
        emit('}', None)
    return '\n'.join(out) + '\n', where


def normal(text):
    """Declarations with comments, line breaks and trailing commas dropped."""
    text = '\n'.join(l.split('//')[0] for l in text.split('\n'))
    text = ' '.join(text.split())
    return re.sub(r',\s*([}\]])', r' \1', text)


def check_signatures(info, body):
    module = info.split(' ')[2]
    src = os.path.join(ROOT, 'stdlib', module[len('std/'):] + '.weft')
    flat = normal(open(src, encoding='utf-8').read())
    problems, decls = [], []
    for line in body:
        if re.match(r'^(fn|type) ', line) or not decls:
            decls.append('')
        decls[-1] += '\n' + line
    for decl in decls:
        d = normal(decl)
        if (d + (' {' if d.startswith('fn ') else '')) not in flat:
            problems.append('not in %s as written: %s' % (module, d))
    return problems


def run(weft, path, line, info, body, context, args, output, files, tmp):
    if info == 'output':
        return ['an output block must follow its ```weft block (no other block between)']
    if any('…' in l for l in body):
        return ['contains …: write a complete example']
    kind = info.split(' ')
    if kind[1:2] == ['signatures']:
        return check_signatures(info, body)
    prog, where = assemble(info, body, context)
    for name in os.listdir(tmp):
        shutil.rmtree(os.path.join(tmp, name)) if os.path.isdir(os.path.join(tmp, name)) \
            else os.remove(os.path.join(tmp, name))
    for name, content in files.items():
        with open(os.path.join(tmp, os.path.basename(name)), 'w', encoding='utf-8') as f:
            f.write(content)
    src = os.path.join(tmp, 'example.weft')
    with open(src, 'w', encoding='utf-8') as f:
        f.write(prog)
    expect = set()
    for out_line, origin in enumerate(where, 1):
        if origin is not None:
            for code in EXPECTED.findall(body[origin]):
                expect.add((code, out_line))
    r = subprocess.run([weft, 'check', '--json', src], capture_output=True, text=True, cwd=tmp)
    try:
        diags = json.loads(r.stdout).get('diagnostics', [])
    except ValueError:
        return ['weft check --json gave no JSON: ' + r.stderr.strip()[:300]]
    got = set()
    for d in diags:
        if d.get('severity') == 'error':
            got.add((d.get('code'), d.get('line') or (d.get('span') or {}).get('line')))
    if got != expect:
        def show(s):
            return ', '.join('%s at line %s' % (c, body_line(where, l, line)) for c, l in sorted(s, key=str))
        msgs = [d.get('message', '') for d in diags if d.get('severity') == 'error']
        return ['errors differ: expected {%s}, got {%s}: %s\n--- compiled as:\n%s' %
                (show(expect), show(got), '; '.join(msgs)[:400], prog)]
    if output is None:
        return []
    argv = shlex.split(args) if args else []
    r = subprocess.run([weft, 'run', src, '--provider', 'mock'] + argv, capture_output=True,
                       text=True, cwd=tmp, timeout=60)
    want = '\n'.join(output) + '\n'
    if r.returncode != 0 or r.stdout != want:
        return ['output differs (exit %d):\n--- expected\n%s--- got\n%s%s' %
                (r.returncode, want, r.stdout, r.stderr[-400:])]
    return []


def body_line(where, out_line, block_line):
    if out_line is None or out_line - 1 >= len(where) or where[out_line - 1] is None:
        return '(added) %s' % out_line
    return block_line + where[out_line - 1]


def main():
    weft, files = sys.argv[1], sys.argv[2:]
    failed = total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            for line, info, body, context, args, output, files in blocks(path):
                total += 1
                problems = run(weft, path, line, info, body, context, args, output, files, tmp)
                name = '%s:%d' % (os.path.relpath(path, ROOT), line)
                if problems:
                    failed += 1
                    print('FAIL %s (%s)' % (name, info))
                    for p in problems:
                        print('  ' + p.replace('\n', '\n  '))
                else:
                    print('ok %s (%s)' % (name, info))
    print('%d examples, %d failed' % (total, failed))
    sys.exit(1 if failed or total == 0 else 0)


if __name__ == '__main__':
    main()
