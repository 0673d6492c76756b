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
    ".lab{flex:0 0 300px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;"
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
    "</style></head>\n<body>\n"
    "<h1 id=\"title\"></h1><div id=\"summary\"></div><div id=\"error\"></div>\n"
    "<div id=\"legend\"><span><i class=\"ok\"></i>ok</span><span><i class=\"failed\"></i>failed</span>"
    "<span><i class=\"served\"></i>answered from the journal</span>"
    "<span><i class=\"other\"></i>cancelled</span><span>(faded: sleep)</span></div>\n"
    "<div class=\"row axis\"><div class=\"lab\"></div><div class=\"track\" id=\"axis\"></div></div>\n"
    "<div id=\"rows\"></div>\n<div id=\"tip\" hidden></div>\n"
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
    "  var line = el('div', 'row'), lab = el('div', 'lab ' + st, segs[segs.length - 1] + ' ' + st);\n"
    "  lab.style.paddingLeft = (4 + depth * 14) + 'px';\n"
    "  lab.title = r.path + (r.fiber && r.fiber.error != null ? ': ' + r.fiber.error : '');\n"
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
    "  if (e.kind === 'ask') {\n"
    "    field('tokens', num(e.input_tokens) + ' in / ' + num(e.output_tokens) + ' out');\n"
    "    field('cost', '$' + Number(e.cost_usd).toFixed(4));\n"
    "  }\n"
    "  if (e.ms != null) field('sleep', dur(e.ms));\n"
    "  field('duration', dur(Math.max(e.end - e.start, 0)));\n"
    "  if (e.attempts > 1) field('attempts', e.attempts);\n"
    "  text('prompt', e.prompt);\n"
    "  text('reply', e.reply);\n"
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
    "document.body.dataset.bars = String(bars);\n"
    "})();\n"
    "</script>\n</body></html>\n";

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
  put_text(b, "prompt", q.prompt);
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
  buf_putc(b, '}');
}

/* {"run": {...}, "effects": [...], "fibers": [...]}: what the script reads. */
static void page_data(Buf *b, const RunRec *r, const EffectRec *effs, size_t neffs, const RunFacts *f) {
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
  buf_puts(b, "]}");
}

void html_timeline(Buf *out, const RunRec *r, const EffectRec *effs, size_t neffs,
                   char **events, const int64_t *at, size_t nevents) {
  RunFacts f;
  run_facts_build(&f, events, at, nevents);
  Buf data;
  buf_init(&data);
  page_data(&data, r, effs, neffs, &f);
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
  buf_free(&data);
}
