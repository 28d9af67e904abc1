// The work bench/instructions.ts measures: best-of-4 requests through verdict's app in this process, every upstream
// call answered at once by a fake exchange (canned candidates, a judge that prefers the earlier-drawn candidate, so
// both orders of a match agree and a best-of-4 takes 6 judge calls however the queues interleave the calls). No sockets, no simulator, no other process: what is left is verdict's own work per request.
// Not run directly: bench/instructions.ts bundles it as npm start bundles verdict and runs it.
//
// Environment: WARM requests first (JIT, caches), then ROUNDS rounds of EACH requests, CONCURRENCY at a time. Prints
// one JSON line: requests measured, CPU ms per request of each round, judge calls per request.
import { createApp } from "../src/app";
import { loadConfig } from "../src/config";
import type { Exchange, ExchangeRequest } from "../src/exchange";

const warm = Number(process.env.WARM ?? 2_000);
const each = Number(process.env.EACH ?? 3_000);
const rounds = Number(process.env.ROUNDS ?? 5);
const concurrency = Number(process.env.CONCURRENCY ?? 50);

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
    model: "work-generator",
    // Numbered: every request judges texts it has not seen, so no judgment comes from the cache.
    choices: ANSWERS.map((text, index) => ({ index, message: { role: "assistant", content: `${text} #${drawn++}` }, logprobs: null, finish_reason: "stop" })),
    usage: { prompt_tokens: 12, completion_tokens: 160, total_tokens: 172 },
  });
const judgment = (winner: "A" | "B") =>
  bytes({
    id: "chatcmpl-judge",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "work-judge",
    choices: [{ index: 0, message: { role: "assistant", content: JSON.stringify({ reasoning: `Response ${winner} answers the question asked.`, winner }) }, finish_reason: "stop" }],
    usage: { prompt_tokens: 300, completion_tokens: 30, total_tokens: 330 },
  });
const JUDGMENTS = { A: judgment("A"), B: judgment("B") };
const HEADERS = { "content-type": "application/json", date: "Mon, 30 Nov 2026 00:00:00 GMT", "content-length": "400" };

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
  const body = judge ? JUDGMENTS[verdictFor(request.body)] : candidates();
  // setImmediate: an answer comes in a later turn of the event loop, as a real one does.
  return new Promise((resolve) => setImmediate(() => resolve({ status: 200, headers: { ...HEADERS }, body })));
};

const config = loadConfig({}, JSON.stringify({ generator: { base_url: "http://generator.work/v1" }, judge: { base_url: "http://judge.work/v1", model: "work-judge" } }));
const app = createApp({ config, exchange });

let sequence = 0;
async function bestOfFour(): Promise<void> {
  const body = JSON.stringify({ model: "work-generator", messages: [{ role: "user", content: `request ${sequence++}: explain one idea` }], verdict: { n: 4 } });
  const response = await app.fetch(new Request("http://verdict.work/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body }));
  const answer = (await response.json()) as { verdict?: { judge?: { calls?: number } } };
  if (response.status !== 200 || !answer.verdict?.judge?.calls) throw new Error(`a best-of-4 failed (${response.status}): ${JSON.stringify(answer).slice(0, 300)}`);
}

async function run(count: number): Promise<number> {
  const before = process.cpuUsage();
  let left = count;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) await bestOfFour();
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
