/* html.c — the self-contained timeline page of a run (`weft trace RUN
 * --html OUT.html`).
 *
 * One file, nothing external: inline CSS and script, and the run's data as
 * JSON in a <script type="application/json"> block that the script reads
 * with JSON.parse. Prompts and replies are hostile text, so:
 *   - every "<" in the data block is written as \u003c: nothing in it can
 *     close the element or open a comment;
 *   - the script puts data on the page only as text (textContent),
 *     attributes and styles, never as HTML;
 *   - a Content-Security-Policy lets the page load nothing and run only
 *     its own script (nonce: a hash of the data, so a run always gives the
 *     same page), so no injected script or inline handler would run even
 *     if the escaping failed.
 * Prompts, replies and errors are cut to TEXT_MAX bytes so that a big run
 * still gives a page a browser opens at once. */
#include "tool.h"

#include <inttypes.h>
#include <string.h>

#include "../vm/module.h"
#include "../base/util.h"

#define TEXT_MAX 4096

static const char PAGE_HEAD[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
    "style-src 'unsafe-inline'; script-src 'nonce-";

/* (the nonce) */
static const char PAGE_STYLE[] =
    "'\">\n<title>weft run</title>\n<style>\n"
    ":root{--ok:#2e9d4f;--failed:#d64541;--served:#5b84b1;--other:#9a9a9a}\n"
    "body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222}\n"
    "h1{font-size:16px;margin:0 0 4px}\n"
    "#summary{color:#555}#error{color:var(--failed);white-space:pre-wrap}\n"
    "#legend{margin:8px 0}#legend span{margin-right:14px}\n"
    "#legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}\n"
    ".row{display:flex;align-items:center;height:18px;border-bottom:1px solid #f0f0f0;padding-right:40px}\n"
    ".lab{flex:0 0 340px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;"
    "font:12px ui-monospace,monospace;box-sizing:border-box}\n"
    ".lab.failed,.lab.cancelled{color:var(--failed)}\n"
    ".track{position:relative;flex:1;height:100%}\n"
    ".bar{position:absolute;top:3px;height:12px;min-width:3px;border-radius:2px;cursor:pointer}\n"
    ".bar.sleep{opacity:.5}\n"
    "i.ok,.bar.ok{background:var(--ok)}i.failed,.bar.failed{background:var(--failed)}\n"
    "i.served,.bar.served{background:var(--served)}i.other,.bar.other,.bar.cancelled{background:var(--other)}\n"
    ".axis{height:24px;border-bottom:1px solid #bbb}\n"
    ".tick{position:absolute;bottom:0;height:6px;border-left:1px solid #999}\n"
    ".tick span{position:absolute;bottom:6px;left:2px;font-size:11px;color:#666;white-space:nowrap}\n"
    ".tick.end span{left:auto;right:2px}\n"
    "#tip{position:fixed;max-width:560px;max-height:80vh;overflow:hidden;background:#fff;"
    "border:1px solid #bbb;box-shadow:0 2px 8px rgba(0,0,0,.2);padding:8px;font-size:12px;"
    "pointer-events:none;z-index:10}\n"
    "#tip pre{white-space:pre-wrap;word-break:break-word;margin:2px 0 6px;background:#f5f5f5;"
    "padding:4px;max-height:220px;overflow:hidden}\n"
    "#tip .k{color:#666}\n"
    "#main{display:flex;align-items:flex-start;gap:12px}\n"
    "#graph{flex:0 0 auto;max-width:38%;max-height:92vh;overflow:auto;position:sticky;top:8px;"
    "border:1px solid #ddd;padding:4px}\n"
    "#graph .note{color:#777;max-width:260px}\n"
    "#timeline{flex:1;min-width:0}\n"
    ".gnode rect{fill:#fff;stroke:#888}.gnode.parallelogram rect{fill:#eef4fb}.gnode.box rect{fill:#f3faf4}\n"
    ".gnode text{font:11px ui-monospace,monospace;fill:#222}.gfn{font:bold 11px system-ui,sans-serif;fill:#555}\n"
    ".gnode.hl rect{stroke:#e08a00;stroke-width:3;fill:#fff3d6}\n"
    ".gedge{stroke:#999;fill:none}.gedge.call{stroke-dasharray:4 3}.glab{font:10px system-ui,sans-serif;fill:#777}\n"
    ".lab .in{color:#222}.lab .rm{color:#2b5d8c;margin-left:6px}.lab .ad{color:#999;margin-left:6px;font-size:10px}\n"
    ".row.hl{background:#fff3d6}\n"
    "</style></head>\n<body>\n"
    "<h1 id=\"title\"></h1><div id=\"summary\"></div><div id=\"error\"></div>\n"
    "<div id=\"legend\"><span><i class=\"ok\"></i>ok</span><span><i class=\"failed\"></i>failed</span>"
    "<span><i class=\"served\"></i>answered from the journal</span>"
    "<span><i class=\"other\"></i>cancelled</span><span>(faded: sleep)</span></div>\n"
    "<div id=\"main\"><div id=\"graph\"><svg id=\"graph-svg\" width=\"0\" height=\"0\"></svg></div><div id=\"timeline\">\n"
    "<div class=\"row axis\"><div class=\"lab\"></div><div class=\"track\" id=\"axis\"></div></div>\n"
    "<div id=\"rows\"></div></div></div>\n<div id=\"tip\" hidden></div>\n"
    "<script type=\"application/json\" id=\"weft-data\">";

/* (the data) */
static const char PAGE_SCRIPT_TAG[] = "</script>\n<script nonce=\"";

/* (the nonce) Renders the data: rows of fibers sorted by start, a bar per
 * effect, the time axis, and the tooltip. */
static const char PAGE_SCRIPT[] =
    "\">\n"
    "(function () {\n"
    "'use strict';\n"
    "var data = JSON.parse(document.getElementById('weft-data').textContent);\n"
    "var run = data.run, effs = data.effects;\n"
    "function el(tag, cls, text) {\n"
    "  var e = document.createElement(tag);\n"
    "  if (cls) e.className = cls;\n"
    "  if (text != null) e.textContent = String(text);\n"
    "  return e;\n"
    "}\n"
    "function dur(ms) {\n"
    "  if (ms < 1000) return Math.round(ms) + 'ms';\n"
    "  if (ms < 60000) return (ms / 1000).toFixed(1) + 's';\n"
    "  var s = Math.floor(ms / 1000) % 60, m = Math.floor(ms / 60000) % 60;\n"
    "  if (ms < 3600000) return m + 'm' + (s < 10 ? '0' : '') + s + 's';\n"
    "  return Math.floor(ms / 3600000) + 'h' + (m < 10 ? '0' : '') + m + 'm';\n"
    "}\n"
    "function num(n) { return Number(n || 0).toLocaleString('en-US'); }\n"
    "var t0 = run.started_at, t1 = run.ended_at || t0;\n"
    "effs.forEach(function (e) {\n"
    "  if (e.start && e.start < t0) t0 = e.start;\n"
    "  if (e.end > t1) t1 = e.end;\n"
    "});\n"
    "data.fibers.forEach(function (f) { t1 = Math.max(t1, f.start, f.end); });\n"
    "var span = Math.max(t1 - t0, 1);\n"
    "document.title = 'weft run ' + run.id + ': ' + run.program;\n"
    "document.getElementById('title').textContent = 'run ' + run.id + ' \\u2014 ' + run.program;\n"
    "document.getElementById('summary').textContent = [run.state, num(run.calls) + ' calls (' +\n"
    "  num(run.failed_calls) + ' failed)', num(run.input_tokens + run.output_tokens) + ' tokens',\n"
    "  '$' + Number(run.cost_usd).toFixed(4), dur(t1 - t0),\n"
    "  'started ' + new Date(run.started_at).toLocaleString()].join(' \\u00b7 ');\n"
    "if (run.error != null) document.getElementById('error').textContent = run.error;\n"
    "var rows = new Map();\n"
    "function row(path) {\n"
    "  var r = rows.get(path);\n"
    "  if (!r) { r = {path: path, start: Infinity, fiber: null, effs: []}; rows.set(path, r); }\n"
    "  return r;\n"
    "}\n"
    "data.fibers.forEach(function (f) {\n"
    "  var r = row(f.path);\n"
    "  r.fiber = f;\n"
    "  if (f.start) r.start = Math.min(r.start, f.start);\n"
    "});\n"
    "effs.forEach(function (e, i) {\n"
    "  var p = e.addr.lastIndexOf('/');\n"
    "  var r = row(p > 0 ? e.addr.slice(0, p) : 'main');\n"
    "  r.effs.push(i);\n"
    "  r.start = Math.min(r.start, e.start || t1);\n"
    "});\n"
    "var list = Array.from(rows.values()).sort(function (a, b) {\n"
    "  var x = isFinite(a.start) ? a.start : t1, y = isFinite(b.start) ? b.start : t1;\n"
    "  return x - y || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);\n"
    "});\n"
    "var axis = document.getElementById('axis'), step = 1;\n"
    "while (span / step > 10) step *= String(step).charAt(0) === '2' ? 2.5 : 2;\n"
    "for (var t = 0; t <= span; t += step) {\n"
    "  var tk = el('div', t / span > 0.9 ? 'tick end' : 'tick');\n"
    "  tk.style.left = (t / span * 100) + '%';\n"
    "  tk.appendChild(el('span', null, dur(t)));\n"
    "  axis.appendChild(tk);\n"
    "}\n"
    "function pct(ms) { return (ms / span * 100) + '%'; }\n"
    "var frag = document.createDocumentFragment(), bars = 0;\n"
    "list.forEach(function (r) {\n"
    "  var segs = r.path.split('/'), depth = 0;\n"
    "  segs.forEach(function (s) { if (s.charAt(s.length - 1) === ']') depth++; });\n"
    "  var st = r.fiber && r.fiber.status ? r.fiber.status : '';\n"
    "  var seg = segs[segs.length - 1], b0 = seg.lastIndexOf('['), line = el('div', 'row'), lab = el('div', 'lab ' + st);\n"
    "  var name = r.fiber && r.fiber.input != null ? (b0 >= 0 ? seg.slice(b0) + ' ' : '') + r.fiber.input : seg;\n"
    "  lab.appendChild(el('span', 'in', name + (st ? ' ' + st : '')));\n"
    "  var rm = [];\n"
    "  r.effs.forEach(function (i) {\n"
    "    var e = effs[i];\n"
    "    if (e.kind !== 'ask' && e.kind !== 'step') return;\n"
    "    var t = (e.role != null ? e.role : '?') + ' \\u00b7 ' + (e.model != null ? e.model : '?');\n"
    "    if (rm.indexOf(t) < 0) rm.push(t);\n"
    "  });\n"
    "  if (rm.length) lab.appendChild(el('span', 'rm', rm.slice(0, 2).join(', ') + (rm.length > 2 ? ' +' + (rm.length - 2) : '')));\n"
    "  if (name !== seg) lab.appendChild(el('span', 'ad', seg));\n"
    "  lab.style.paddingLeft = (4 + depth * 14) + 'px';\n"
    "  lab.title = r.path + (r.fiber && r.fiber.input != null ? '\\ninput: ' + r.fiber.input : '') +\n"
    "    (rm.length ? '\\n' + rm.join('\\n') : '') + (r.fiber && r.fiber.error != null ? '\\nerror: ' + r.fiber.error : '');\n"
    "  line.setAttribute('data-path', r.path);\n"
    "  var track = el('div', 'track');\n"
    "  r.effs.forEach(function (i) {\n"
    "    var e = effs[i], s = Math.max(e.start || t0, t0), end = Math.max(e.end || s, s);\n"
    "    var b = el('div', 'bar ' + (e.served ? 'served' : e.status) + (e.kind === 'sleep' ? ' sleep' : ''));\n"
    "    b.setAttribute('data-addr', e.addr);\n"
    "    b.setAttribute('data-i', String(i));\n"
    "    b.style.left = pct(s - t0);\n"
    "    b.style.width = pct(end - s);\n"
    "    track.appendChild(b);\n"
    "    bars++;\n"
    "  });\n"
    "  line.appendChild(lab);\n"
    "  line.appendChild(track);\n"
    "  frag.appendChild(line);\n"
    "});\n"
    "if (!effs.length) frag.appendChild(el('p', null, 'This run has no effects.'));\n"
    "var rowsEl = document.getElementById('rows'), tip = document.getElementById('tip');\n"
    "rowsEl.appendChild(frag);\n";

/* The tooltip: built from text nodes only. */
static const char PAGE_TOOLTIP[] =
    "function field(k, v) {\n"
    "  var d = el('div');\n"
    "  d.appendChild(el('span', 'k', k + ': '));\n"
    "  d.appendChild(document.createTextNode(String(v)));\n"
    "  tip.appendChild(d);\n"
    "}\n"
    "function text(k, v) {\n"
    "  if (v == null) return;\n"
    "  tip.appendChild(el('div', 'k', k));\n"
    "  tip.appendChild(el('pre', null, v));\n"
    "}\n"
    "function fill(e) {\n"
    "  tip.textContent = '';\n"
    "  tip.appendChild(el('b', null, e.addr));\n"
    "  field('status', e.status + (e.served ? ' (answered from the journal)' : ''));\n"
    "  if (e.role != null) field('role', e.role);\n"
    "  if (e.model != null) field('model', e.model);\n"
    "  if (e.op != null) field('call', e.op);\n"
    "  if (e.kind === 'ask' || e.kind === 'step') {\n"
    "    field('tokens', num(e.input_tokens) + ' in / ' + num(e.output_tokens) + ' out');\n"
    "    field('cost', '$' + Number(e.cost_usd).toFixed(4));\n"
    "  }\n"
    "  if (e.ms != null) field('sleep', dur(e.ms));\n"
    "  field('duration', dur(Math.max(e.end - e.start, 0)));\n"
    "  if (e.attempts > 1) field('attempts', e.attempts);\n"
    "  text(e.kind === 'cap' ? 'of' : 'prompt', e.prompt);\n"
    "  text(e.kind === 'cap' ? 'result' : 'reply', e.reply);\n"
    "  text('error', e.error);\n"
    "}\n"
    "function place(ev) {\n"
    "  var x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);\n"
    "  var y = Math.min(ev.clientY + 14, window.innerHeight - tip.offsetHeight - 8);\n"
    "  tip.style.left = Math.max(x, 0) + 'px';\n"
    "  tip.style.top = Math.max(y, 0) + 'px';\n"
    "}\n"
    "rowsEl.addEventListener('mouseover', function (ev) {\n"
    "  var b = ev.target.closest ? ev.target.closest('.bar') : null;\n"
    "  if (!b) { tip.hidden = true; return; }\n"
    "  fill(effs[Number(b.getAttribute('data-i'))]);\n"
    "  tip.hidden = false;\n"
    "  place(ev);\n"
    "});\n"
    "rowsEl.addEventListener('mousemove', function (ev) { if (!tip.hidden) place(ev); });\n"
    "rowsEl.addEventListener('mouseleave', function () { tip.hidden = true; });\n"
    "document.body.dataset.bars = String(bars);\n";

/* The program's graph (data.graph, graph.c's JSON) as an inline SVG laid
 * out in layers (a node's layer: one below its deepest predecessor), one
 * band per function; and the link from a bar to the nodes it ran at.
 * Labels go in as SVG text nodes only. */
static const char PAGE_GRAPH[] =
    "var G = data.graph, gbox = document.getElementById('graph'), gnodes = [];\n"
    "var svg = document.getElementById('graph-svg'), SVG = svg.namespaceURI; /* the HTML parser's SVG namespace */\n"
    "function sv(tag, attrs, text) {\n"
    "  var e = document.createElementNS(SVG, tag);\n"
    "  for (var k in attrs) e.setAttribute(k, String(attrs[k]));\n"
    "  if (text != null) e.textContent = String(text);\n"
    "  return e;\n"
    "}\n"
    "function cut(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + '\\u2026' : s; }\n"
    "if (!G) {\n"
    "  gbox.removeChild(svg);\n"
    "  gbox.appendChild(el('p', 'note', data.graph_note || 'no graph'));\n"
    "} else {\n"
    "  var W = 190, H = 26, GX = 14, GY = 22, layer = [], col = [], edges = G.edges.slice();\n"
    "  G.nodes.forEach(function () { layer.push(0); });\n"
    "  edges.sort(function (a, b) { return a.to - b.to; });\n"
    "  edges.forEach(function (e) {\n"
    "    if (!e.call && e.from < e.to && e.to < layer.length) layer[e.to] = Math.max(layer[e.to], layer[e.from] + 1);\n"
    "  });\n"
    "  var y0 = 4, width = 0, pos = [], fns = [];\n"
    "  G.fns.forEach(function (name, f) {\n"
    "    var rows = [];\n"
    "    G.nodes.forEach(function (n, i) {\n"
    "      if (n.fn !== f) return;\n"
    "      (rows[layer[i]] = rows[layer[i]] || []).push(i);\n"
    "    });\n"
    "    if (!rows.length) return;\n"
    "    fns.push({name: name, y: y0});\n"
    "    y0 += 16;\n"
    "    var base = Infinity;\n"
    "    rows.forEach(function (r, l) { if (r && l < base) base = l; });\n"
    "    rows.forEach(function (r, l) {\n"
    "      if (!r) return;\n"
    "      r.forEach(function (i, k) {\n"
    "        pos[i] = {x: 4 + k * (W + GX), y: y0 + (l - base) * (H + GY)};\n"
    "        width = Math.max(width, pos[i].x + W + 4);\n"
    "      });\n"
    "    });\n"
    "    y0 += (rows.length - base) * (H + GY) + 6;\n"
    "  });\n"
    "  svg.setAttribute('width', String(Math.max(width, 200)));\n"
    "  svg.setAttribute('height', String(y0 + 4));\n"
    "  fns.forEach(function (f) { svg.appendChild(sv('text', {'class': 'gfn', x: 4, y: f.y + 11}, 'fn ' + f.name)); });\n"
    "  G.edges.forEach(function (e) {\n"
    "    var a = pos[e.from], b = pos[e.to];\n"
    "    if (!a || !b) return;\n"
    "    var x1 = a.x + W / 2, y1 = a.y + H, x2 = b.x + W / 2, y2 = b.y;\n"
    "    if (e.call && y2 <= y1) { x1 = a.x + W; y1 = a.y + H / 2; x2 = b.x + W; y2 = b.y + H / 2; }\n"
    "    svg.appendChild(sv('path', {'class': 'gedge' + (e.call ? ' call' : ''),\n"
    "      d: 'M' + x1 + ',' + y1 + ' L' + x2 + ',' + y2}));\n"
    "    if (e.label != null) svg.appendChild(sv('text', {'class': 'glab', x: (x1 + x2) / 2 + 3, y: (y1 + y2) / 2}, cut(e.label, 16)));\n"
    "  });\n"
    "  G.nodes.forEach(function (n, i) {\n"
    "    var p = pos[i];\n"
    "    if (!p) return;\n"
    "    var g = sv('g', {'class': 'gnode ' + String(n.shape).replace(/[^a-z]/g, ''), 'data-node': i, 'data-line': n.line,\n"
    "      transform: 'translate(' + p.x + ',' + p.y + ')'});\n"
    "    g.appendChild(sv('title', {}, n.label + ' (line ' + n.line + ')'));\n"
    "    g.appendChild(sv('rect', {width: W, height: H, rx: n.shape === 'box' ? 2 : 9}));\n"
    "    g.appendChild(sv('text', {x: 6, y: 17}, cut(n.label, 27)));\n"
    "    svg.appendChild(g);\n"
    "    gnodes[i] = g;\n"
    "  });\n"
    "}\n"
    "/* The graph nodes an effect ran at: the fan-out its lane is a branch of\n"
    " * (by the line in its address) and, for a call, the asks of its role. */\n"
    "function nodesOf(e) {\n"
    "  var m, line = -1, re = /fanout#[0-9]+@([0-9]+)\\[/g, out = [];\n"
    "  while ((m = re.exec(e.addr))) line = Number(m[1]);\n"
    "  if (!G) return out;\n"
    "  G.nodes.forEach(function (n, i) {\n"
    "    if (n.shape === 'parallelogram' && n.line === line) out.push(i);\n"
    "    else if (e.kind === 'ask' && n.role != null && n.role === e.role) out.push(i);\n"
    "  });\n"
    "  return out;\n"
    "}\n"
    "var lit = [];\n"
    "function light(list) {\n"
    "  lit.forEach(function (g) { g.classList.remove('hl'); });\n"
    "  lit = [];\n"
    "  list.forEach(function (i) { if (gnodes[i]) { gnodes[i].classList.add('hl'); lit.push(gnodes[i]); } });\n"
    "}\n"
    "rowsEl.addEventListener('mouseover', function (ev) {\n"
    "  var b = ev.target.closest ? ev.target.closest('.bar') : null;\n"
    "  if (b) light(nodesOf(effs[Number(b.getAttribute('data-i'))]));\n"
    "});\n"
    "rowsEl.addEventListener('click', function (ev) {\n"
    "  var b = ev.target.closest ? ev.target.closest('.bar') : null;\n"
    "  if (!b) return;\n"
    "  var l = nodesOf(effs[Number(b.getAttribute('data-i'))]);\n"
    "  light(l);\n"
    "  if (l.length && gnodes[l[0]].scrollIntoView) gnodes[l[0]].scrollIntoView({block: 'nearest'});\n"
    "});\n"
    "document.body.dataset.graphNodes = String(gnodes.filter(Boolean).length);\n"
    "})();\n";

static const char PAGE_END[] = "</script>\n</body></html>\n";

/* A JSON string of s cut to TEXT_MAX bytes (at a character boundary, with
 * a note of the full size); null for NULL. */
static void put_text(Buf *b, const char *key, const char *s) {
  buf_printf(b, ",\"%s\":", key);
  if (!s) {
    buf_puts(b, "null");
    return;
  }
  size_t n = strlen(s), k = n;
  if (n > TEXT_MAX) {
    k = TEXT_MAX;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
  }
  Buf t;
  buf_init(&t);
  buf_put(&t, s, k);
  if (k < n) buf_printf(&t, "\n... (cut: %zu bytes in all)", n);
  buf_json_string(b, t.data, t.len);
  buf_free(&t);
}

static void effect_data(Buf *b, const EffectRec *e, const RunFacts *f) {
  RequestInfo q;
  request_info(e->request, &q);
  buf_puts(b, "{\"addr\":");
  buf_json_string(b, e->addr, strlen(e->addr));
  buf_puts(b, ",\"kind\":");
  buf_json_string(b, e->kind ? e->kind : "", e->kind ? strlen(e->kind) : 0);
  buf_printf(b, ",\"status\":\"%s\",\"served\":%s", effect_status(e), run_facts_served(f, e->addr) ? "true" : "false");
  put_text(b, "role", q.role);
  put_text(b, "model", q.model);
  /* a capability call is shown as an ask is: what it asked for (its
   * path, program or URL) and what came back */
  put_text(b, "prompt", q.prompt ? q.prompt : q.target);
  put_text(b, "op", q.op);
  put_text(b, "reply", e->response);
  put_text(b, "error", e->error);
  if (q.ms >= 0) buf_printf(b, ",\"ms\":%" PRId64, q.ms);
  buf_printf(b, ",\"input_tokens\":%" PRId64 ",\"output_tokens\":%" PRId64 ",\"cost_usd\":%.10g", e->input_tokens,
             e->output_tokens, e->cost_usd);
  buf_printf(b, ",\"attempts\":%" PRIu32 ",\"start\":%" PRId64 ",\"end\":%" PRId64 "}", e->attempts, e->started_at,
             e->ended_at);
  request_info_free(&q);
}

static void fiber_data(Buf *b, const FiberFact *ff) {
  buf_puts(b, "{\"path\":");
  buf_json_string(b, ff->path, strlen(ff->path));
  buf_printf(b, ",\"start\":%" PRId64 ",\"end\":%" PRId64, ff->started_at, ff->ended_at);
  put_text(b, "status", ff->status);
  put_text(b, "error", ff->error);
  put_text(b, "input", ff->input);
  buf_putc(b, '}');
}

/* {"run": {...}, "effects": [...], "fibers": [...], "graph": ..., "graph_note": ...}:
 * what the script reads. */
static void page_data(Buf *b, const RunRec *r, const EffectRec *effs, size_t neffs, const RunFacts *f,
                      const char *graph, const char *graph_note) {
  buf_puts(b, "{\"run\":");
  run_json(b, r, r->ended_at ? r->ended_at - r->started_at : -1);
  buf_puts(b, ",\"effects\":[");
  for (size_t i = 0; i < neffs; i++) {
    if (i) buf_putc(b, ',');
    effect_data(b, &effs[i], f);
  }
  buf_puts(b, "],\"fibers\":[");
  for (size_t i = 0; i < f->nfibers; i++) {
    if (i) buf_putc(b, ',');
    fiber_data(b, &f->fibers[i]);
  }
  buf_puts(b, "],\"graph\":");
  buf_puts(b, graph ? graph : "null");
  put_text(b, "graph_note", graph_note);
  buf_putc(b, '}');
}

void html_timeline(Buf *out, const RunRec *r, const EffectRec *effs, size_t neffs,
                   char **events, const int64_t *at, size_t nevents, const char *graph, const char *graph_note) {
  RunFacts f;
  run_facts_build(&f, events, at, nevents);
  Buf data;
  buf_init(&data);
  page_data(&data, r, effs, neffs, &f, graph, graph_note);
  run_facts_free(&f);
  char nonce[17];
  hash_hex(fnv1a64(0xcbf29ce484222325ULL, data.data, data.len), nonce);
  buf_puts(out, PAGE_HEAD);
  buf_puts(out, nonce);
  buf_puts(out, PAGE_STYLE);
  /* "<" occurs only inside JSON strings, where \u003c means the same */
  for (size_t i = 0, from = 0; i <= data.len; i++)
    if (i == data.len || data.data[i] == '<') {
      buf_put(out, data.data + from, i - from);
      if (i < data.len) buf_puts(out, "\\u003c");
      from = i + 1;
    }
  buf_puts(out, PAGE_SCRIPT_TAG);
  buf_puts(out, nonce);
  buf_puts(out, PAGE_SCRIPT);
  buf_puts(out, PAGE_TOOLTIP);
  buf_puts(out, PAGE_GRAPH);
  buf_puts(out, PAGE_END);
  buf_free(&data);
}
