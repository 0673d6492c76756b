// server.mjs — a fake OpenAI Chat Completions endpoint for bench/width/run.sh.
//
// tests/lib/llm_server.py is the reference for the wire format (and has
// every fault the tests need); this one does only what the width benchmark
// needs, fast enough to hold 1,000 keep-alive connections in flight on a
// shared 2-core machine: POST /v1/chat/completions answers after the delay
// its model name asks for ("slow-200": 200 ms after the request arrived),
// with the same reply as llm_server.py ("echo: " + the first 60 characters
// of the first user message, usage counted the same way), as one JSON
// document or, when the request says "stream": true, as SSE chunks ending
// in `data: [DONE]` (with a usage chunk when stream_options.include_usage).
// A request without a bearer key gets 401 with OpenAI's error body.
//
//   node server.mjs PORT_FILE        listens on 127.0.0.1, a free port,
//                                    written to PORT_FILE once listening
//   GET  /_stats   {"requests","in_flight","max_in_flight","connections",
//                   "max_connections","span_ms","arrival_spread_ms"}
//   POST /_reset   zeroes them
// Node standard library only. It never prints a key or a header.
import http from "node:http";
import fs from "node:fs";
import crypto from "node:crypto";

const portFile = process.argv[2];
if (!portFile) {
  console.error("usage: node server.mjs PORT_FILE");
  process.exit(2);
}

let st;
function reset() {
  st = { requests: 0, in_flight: 0, max_in_flight: 0, max_connections: 0,
         first: null, last_arrival: null, last_done: null };
}
reset();
let connections = 0;

const tokensFor = (s) => Math.max(1, Math.floor(s.length / 4));

function json(res, status, doc) {
  const body = JSON.stringify(doc);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function reply(res, req, body) {
  const model = typeof body.model === "string" ? body.model : "";
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  const first = msgs.find((m) => m && m.role === "user");
  let prompt = first && typeof first.content === "string" ? first.content : "";
  if (first && Array.isArray(first.content))
    prompt = first.content.map((p) => (p && typeof p.text === "string" ? p.text : "")).join("");
  const text = "echo: " + [...prompt].slice(0, 60).join("");
  const inTokens = 12 + tokensFor(JSON.stringify(msgs));
  const out = tokensFor(text);
  const id = "chatcmpl-" + crypto.randomBytes(12).toString("hex");
  const created = Math.floor(Date.now() / 1000);
  const headers = { "x-request-id": "req_" + crypto.randomBytes(12).toString("hex"),
                    "openai-version": "2020-10-01" };
  if (body.stream !== true) {
    const doc = { id, object: "chat.completion", created, model, system_fingerprint: "fp_weft_bench",
                  choices: [{ index: 0, logprobs: null, finish_reason: "stop",
                              message: { role: "assistant", content: text, refusal: null, annotations: [] } }],
                  usage: { prompt_tokens: inTokens, completion_tokens: out, total_tokens: inTokens + out } };
    const data = JSON.stringify(doc);
    res.writeHead(200, { ...headers, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) });
    res.end(data);
    return;
  }
  const usage = body.stream_options && body.stream_options.include_usage === true;
  const chunk = (delta, finish) => {
    const c = { id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_weft_bench",
                choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
    if (usage) c.usage = null;
    return "data: " + JSON.stringify(c) + "\n\n";
  };
  let sse = chunk({ role: "assistant", content: "", refusal: null }, null) + chunk({ content: text }, null) +
            chunk({}, "stop");
  if (usage)
    sse += "data: " + JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [],
                                       usage: { prompt_tokens: inTokens, completion_tokens: out,
                                                total_tokens: inTokens + out } }) + "\n\n";
  sse += "data: [DONE]\n\n";
  res.writeHead(200, { ...headers, "Content-Type": "text/event-stream; charset=utf-8" });
  res.end(sse);
}

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/_stats") {
    const span = st.first === null ? 0 : (st.last_done ?? st.first) - st.first;
    const spread = st.first === null ? 0 : st.last_arrival - st.first;
    json(res, 200, { requests: st.requests, in_flight: st.in_flight, max_in_flight: st.max_in_flight,
                     connections, max_connections: st.max_connections,
                     span_ms: Math.round(span * 10) / 10, arrival_spread_ms: Math.round(spread * 10) / 10 });
    req.resume();
    return;
  }
  if (req.method === "POST" && req.url === "/_reset") {
    reset();
    json(res, 200, { ok: true });
    req.resume();
    return;
  }
  if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
    json(res, 404, { error: { message: "Unknown request URL", type: "invalid_request_error", param: null,
                              code: "unknown_url" } });
    req.resume();
    return;
  }
  const arrived = performance.now();
  if (st.first === null) st.first = arrived;
  st.last_arrival = arrived;
  st.requests++;
  st.in_flight++;
  if (st.in_flight > st.max_in_flight) st.max_in_flight = st.in_flight;
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const done = () => {
      st.in_flight--;
      st.last_done = performance.now();
    };
    if (!/^Bearer \S+/.test(req.headers.authorization ?? "")) {
      done();
      json(res, 401, { error: { message: "Incorrect API key provided.", type: "invalid_request_error",
                                param: null, code: "invalid_api_key" } });
      return;
    }
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      done();
      json(res, 400, { error: { message: "We could not parse the JSON body of your request.",
                                type: "invalid_request_error", param: null, code: null } });
      return;
    }
    const m = /(?:^|\+)slow-(\d+)(?:\+|$)/.exec(typeof body.model === "string" ? body.model : "");
    const delay = m ? Number(m[1]) : 0;
    // the delay runs from the request's arrival, like llm_server.py
    const left = Math.max(0, delay - (performance.now() - arrived));
    setTimeout(() => {
      reply(res, req, body);
      done();
    }, left);
  });
});
server.on("connection", () => {
  connections++;
  if (connections > st.max_connections) st.max_connections = connections;
});
server.on("connection", (sock) => sock.on("close", () => connections--));
server.keepAliveTimeout = 60000;
server.headersTimeout = 65000;
server.requestTimeout = 0;
server.maxRequestsPerSocket = 0;
// 1,000 clients connect at once: a short accept backlog would drop SYNs,
// and a dropped SYN costs the client a 1 s retransmission
server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => {
  fs.writeFileSync(portFile + ".tmp", String(server.address().port));
  fs.renameSync(portFile + ".tmp", portFile);
});
const stop = () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 200).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
