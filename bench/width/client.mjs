// client.mjs — the plain Node.js side of bench/width/run.sh: N chat
// completions with at most W in flight, written the way one would without
// an SDK: node:http with a keep-alive agent of W sockets, a promise pool of
// W workers (results kept in input order), JSON in and out, non-streaming.
//
//   N=1000 W=64 OPENAI_BASE_URL=http://127.0.0.1:PORT OPENAI_API_KEY=... node client.mjs
// prints N (the replies received) and true (every reply had text).
import http from "node:http";

const N = Number(process.env.N ?? 1000);
const W = Number(process.env.W ?? 64);
const base = new URL(process.env.OPENAI_BASE_URL ?? "http://127.0.0.1:8080");
const key = process.env.OPENAI_API_KEY ?? "sk-bench-dummy";
const agent = new http.Agent({ keepAlive: true, maxSockets: W });

function ask(prompt) {
  const body = JSON.stringify({ model: "slow-200", messages: [{ role: "user", content: prompt }] });
  return new Promise((resolve, reject) => {
    const req = http.request({
      agent, host: base.hostname, port: base.port, method: "POST", path: "/v1/chat/completions",
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body),
                 authorization: `Bearer ${key}` },
    }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")).choices[0].message.content ?? "");
        } catch (e) {
          reject(e);
        }
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

const results = new Array(N);
let next = 0;
async function worker() {
  // Single-threaded JS: taking `next` and incrementing it cannot interleave.
  while (next < N) {
    const i = next++;
    results[i] = await ask(`item ${i}`);
  }
}
await Promise.all(Array.from({ length: Math.min(W, N) }, worker));
agent.destroy();
console.log(results.length);
console.log(results.every((r) => r.length > 0));
