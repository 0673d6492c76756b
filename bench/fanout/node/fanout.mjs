// fanout.mjs — the Node.js side of bench/fanout/run.sh: what
// bench/fanout/fanout.weft does, written the ordinary way with the official
// `openai` SDK: 1,000 chat.completions.create calls through a promise pool
// of 64 workers (so at most 64 in flight, results kept in input order),
// then one synthesis call over the joined results.
//
// SDK defaults are kept on purpose (maxRetries 2, timeout 10 min, no
// streaming): the benchmark compares what a user gets out of the box, and
// the server never fails a slow-200 request, so no retry happens anyway.
// The endpoint comes from OPENAI_BASE_URL (+ /v1), the key from
// OPENAI_API_KEY (a dummy: the server is local).
import OpenAI from "openai";

const N = Number(process.env.N ?? 1000);
const LIMIT = Number(process.env.LIMIT ?? 64);
const client = new OpenAI({
  baseURL: `${process.env.OPENAI_BASE_URL}/v1`,
  apiKey: process.env.OPENAI_API_KEY ?? "sk-bench-dummy",
});

async function ask(prompt) {
  const r = await client.chat.completions.create({
    model: "slow-200",
    messages: [{ role: "user", content: prompt }],
  });
  return r.choices[0].message.content ?? "";
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
await Promise.all(Array.from({ length: Math.min(LIMIT, N) }, worker));
const summary = await ask(`Summarize ${results.length} results`);
console.log(results.length);
console.log(summary.length > 0);
