// The work bench/instructions.ts measures: best-of-4 requests to verdict in this process, every upstream call answered
// at once by a fake exchange (canned candidates, a judge that prefers the earlier-drawn candidate, so both orders of a
// match agree and a best-of-4 takes 6 judge calls however the queues interleave the calls). No simulator and no other
// process: what is left is verdict's own work per request. By default through the app's fetch, with no sockets; with
// LANE=1 over loopback HTTP to the Node server as `npm start` runs it, where chat completions take the lane in
// src/adapters/node-chat-lane.ts instead of the app.
// Not run directly: bench/instructions.ts bundles it as npm start bundles verdict and runs it.
//
// With PASS_THROUGH=1 the requests are passed through instead (`x-verdict-n: 1`, as bench:overhead sends them): one
// upstream call each, no judge.
//
// Environment: WARM requests first (JIT, caches), then ROUNDS rounds of EACH requests, CONCURRENCY at a time; LANE,
// PASS_THROUGH. Prints one JSON line: requests measured, CPU ms per request of each round, judge calls per request.
import { Agent, request as httpRequest } from "node:http";
import { createApp } from "../src/app";
import { createJsonLogger, startProxy } from "../src/adapters/node";
import { createNodeFetch } from "../src/adapters/node-fetch";
import { loadConfig } from "../src/config";
import type { Exchange, ExchangeRequest } from "../src/exchange";

const warm = Number(process.env.WARM ?? 2_000);
const each = Number(process.env.EACH ?? 3_000);
const rounds = Number(process.env.ROUNDS ?? 5);
const concurrency = Number(process.env.CONCURRENCY ?? 50);
const passThrough = process.env.PASS_THROUGH === "1";

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const ANSWERS = [
  "Short version first. A worked example usually makes the reasoning easier to follow. The main idea can be stated in one line and checked against the question.",
  "Let me answer directly. In practice, measuring beats guessing.",
  "Short version first. A common mistake is to skip the verification step.",
  "The trade-off is between speed and accuracy, and it depends on the use.",
];
let drawn = 0;
const candidates = () =>
  bytes({
    id: "chatcmpl-work",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "bench-generator",
    // Numbered: every request judges texts it has not seen, so no judgment comes from the cache.
    choices: ANSWERS.map((text, index) => ({ index, message: { role: "assistant", content: `${text} #${drawn++}` }, logprobs: null, finish_reason: "stop" })),
    usage: { prompt_tokens: 12, completion_tokens: 160, total_tokens: 172 },
  });
const judgment = (winner: "A" | "B") =>
  bytes({
    id: "chatcmpl-judge",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "bench-judge",
    choices: [{ index: 0, message: { role: "assistant", content: JSON.stringify({ reasoning: `Response ${winner} answers the question asked.`, winner }) }, finish_reason: "stop" }],
    usage: { prompt_tokens: 300, completion_tokens: 30, total_tokens: 330 },
  });
const JUDGMENTS = { A: judgment("A"), B: judgment("B") };
/** A pass-through's answer: one choice, as the generator gives a request without `n`. */
const PASSED = bytes({
  id: "chatcmpl-work",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "bench-generator",
  choices: [{ index: 0, message: { role: "assistant", content: ANSWERS[0] }, logprobs: null, finish_reason: "stop" }],
  usage: { prompt_tokens: 12, completion_tokens: 40, total_tokens: 52 },
});
const HEADERS = { "content-type": "application/json", date: "Mon, 30 Nov 2026 00:00:00 GMT" };

let judgeCalls = 0;
const decoder = new TextDecoder();
/**
 * The candidate drawn first wins, whichever order it is shown in. (Naming A and B in turn, as this did until the
 * twenty-sixth session, agreed with itself only while a match's two orders were sent one right after the other; once
 * the upstream queues let requests take turns, matches disagreed and were judged again, so counts were not comparable.)
 */
function verdictFor(body: ExchangeRequest["body"]): "A" | "B" {
  const text = typeof body === "string" ? body : body instanceof Uint8Array ? decoder.decode(body) : "";
  const [first, second] = Array.from(text.matchAll(/ #(\d+)/g), (match) => Number(match[1]));
  if (first === undefined || second === undefined) throw new Error("a judge body without two numbered candidates");
  return first < second ? "A" : "B";
}
const exchange: Exchange = (request) => {
  const judge = request.url.startsWith("http://judge.work/");
  if (judge) judgeCalls++;
  const body = judge ? JUDGMENTS[verdictFor(request.body)] : passThrough ? PASSED : candidates();
  // setImmediate: an answer comes in a later turn of the event loop, as a real one does.
  return new Promise((resolve) => setImmediate(() => resolve({ status: 200, headers: { ...HEADERS, "content-length": String(body.byteLength) }, body })));
};

// The model names hold no "sk-", "pk-" or "rk-" (as "work-generator" did until the twenty-ninth session): the access
// log's key check reads those as a key's start and takes its slow path, which real model names rarely make it take.
const config = loadConfig(
  {},
  JSON.stringify({ generator: { base_url: "http://generator.work/v1" }, judge: { base_url: "http://judge.work/v1", model: "bench-judge" }, server: { host: "127.0.0.1", port: 0 } }),
);
let sequence = 0;
const requestBody = () => JSON.stringify({ model: "bench-generator", messages: [{ role: "user", content: `request ${sequence++}: explain one idea` }], ...(passThrough ? {} : { verdict: { n: 4 } }) });
/** The request's headers beyond its content type: a pass-through is asked for as bench:overhead asks for it. */
const EXTRA_HEADERS: Record<string, string> = passThrough ? { "x-verdict-n": "1" } : {};

/** One best-of-4 through the app's fetch: the path Workers take, and Node's for everything but chat completions. */
async function throughApp(app: ReturnType<typeof createApp>): Promise<{ status: number; text: string }> {
  const response = await app.fetch(new Request("http://verdict.work/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json", ...EXTRA_HEADERS }, body: requestBody() }));
  return { status: response.status, text: await response.text() };
}

/**
 * One best-of-4 over loopback HTTP to verdict's Node server, as `npm start` serves it (the chat completions lane in
 * front of the app, the access log serialised and dropped), the upstreams still answered in process. The client's
 * own work is counted too, the same for both builds. Needs startProxy's `transport`, so only commits from 2026-12-01 on.
 */
function overLoopback(base: string, agent: Agent): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const body = requestBody();
    const request = httpRequest(`${base}/v1/chat/completions`, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...EXTRA_HEADERS } }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(body);
  });
}

let send: () => Promise<{ status: number; text: string }>;
if (process.env.LANE === "1") {
  const discard = { out() {}, err() {} };
  const proxy = await startProxy(config, createJsonLogger("info", discard), { exchange, fetch: createNodeFetch({ exchange }) });
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  send = () => overLoopback(proxy.url, agent);
} else {
  const app = createApp({ config, exchange });
  send = () => throughApp(app);
}

/** One request, its answer checked: a best-of-4 must have been judged, a pass-through must not have been. */
async function oneRequest(): Promise<void> {
  const { status, text } = await send();
  const answer = JSON.parse(text) as { object?: string; verdict?: { judge?: { calls?: number } } };
  const judged = Boolean(answer.verdict?.judge?.calls);
  if (status !== 200 || answer.object !== "chat.completion" || judged === passThrough) {
    throw new Error(`a ${passThrough ? "pass-through" : "best-of-4"} failed (${status}): ${text.slice(0, 300)}`);
  }
}

async function run(count: number): Promise<number> {
  const before = process.cpuUsage();
  let left = count;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) await oneRequest();
    }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1_000 / count;
}

await run(warm);
const callsBefore = judgeCalls;
const cpu: number[] = [];
for (let round = 0; round < rounds; round++) cpu.push(await run(each));
console.log(JSON.stringify({ requests: rounds * each, cpu_ms_per_request: cpu.map((ms) => +ms.toFixed(3)), judge_calls_per_request: +((judgeCalls - callsBefore) / (rounds * each)).toFixed(2) }));
process.exit(0); // the server and the client's sockets would keep the process alive
