// The floor of bench/load.ts: the upstream calls a best-of-4 makes, and nothing else, as a reference beside verdict.
// For each request it draws four candidates in one call with n, then plays a knockout on them as verdict's default
// does: each match asks the judge about both orders at once, and once more (both orders) when the two disagree. The
// calls go over undici's dispatcher (verdict's transport on Node), each judge call with a prompt and body of the same
// shape as verdict's default one.
// No options, checks, cache, time budget, retries, metrics or logs: what it costs is what Node's HTTP server and
// client and the JSON of each call cost on this machine, before any of verdict's own work.
//
// Usage: node bench/floor-bestof.mjs <upstream base URL, e.g. http://127.0.0.1:PORT/v1> [the judge's response_format
// as JSON]. Listens on 127.0.0.1 and a free port, and says which on stdout.
import { createServer } from "node:http";
import Agent from "undici/lib/dispatcher/agent.js";

const upstream = new URL(process.argv[2] ?? "");
if (upstream.protocol !== "http:") throw new Error("usage: node bench/floor-bestof.mjs http://127.0.0.1:PORT/v1 [response_format JSON]");
/** The answer's shape, as verdict asks for it by default (bench/load.ts hands over src/judge/pairwise-prompt.ts's). */
const verdictFormat = process.argv[3] ? JSON.parse(process.argv[3]) : undefined;
const path = `${upstream.pathname.replace(/\/$/, "")}/chat/completions`;
const agent = new Agent({ connections: 256, keepAliveTimeout: 4_000, keepAliveMaxTimeout: 4_000, headersTimeout: 0, bodyTimeout: 0 });

/** One JSON POST to the upstream's chat completions, answered with the parsed body. */
function complete(body) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const handler = {
      onConnect() {},
      onHeaders: () => true,
      onData: (chunk) => chunks.push(chunk) > 0,
      onComplete: () => resolve(JSON.parse(Buffer.concat(chunks).toString("utf8"))),
      onError: reject,
    };
    agent.dispatch({ origin: upstream.origin, path, method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }, handler);
  });
}

const SYSTEM = [
  "You judge which of two assistant responses better serves the user in the conversation shown.",
  "Weigh whether it does what was asked, is correct, complete and clear; order, length and confidence are no merits.",
  'Reply with JSON only: {"reasoning": "<a few sentences>", "winner": "A" | "B" | "tie"}.',
].join("\n");

/** The judge's pick between two texts shown in this order: "A", "B" or "tie". */
async function pick(conversation, first, second) {
  const user = `<conversation>\n${conversation}\n</conversation>\n\n<response_a>\n${first}\n</response_a>\n\n<response_b>\n${second}\n</response_b>\n\nWhich response is better, A or B?`;
  const messages = [{ role: "system", content: SYSTEM }, { role: "user", content: user }];
  const answer = await complete({ model: "sim-judge", messages, temperature: 0, max_tokens: 1024, response_format: verdictFormat });
  return JSON.parse(answer.choices[0].message.content).winner;
}

/** A match of both orders, played once more when they disagree; `calls` counts the judge calls. */
async function match(conversation, a, b, calls) {
  for (let round = 0; ; round++) {
    calls.count += 2;
    const [forward, backward] = await Promise.all([pick(conversation, a, b), pick(conversation, b, a)]);
    if (forward === "A" && backward === "B") return a;
    if (forward === "B" && backward === "A") return b;
    if (round === 1) return forward === "A" ? a : b;
  }
}

async function bestOfFour(request) {
  const { verdict, ...body } = request;
  const drawn = await complete({ ...body, n: verdict?.n ?? 4 });
  const texts = drawn.choices.map((choice) => choice.message.content);
  const conversation = request.messages.map((m) => `[${m.role}]\n${m.content}`).join("\n\n");
  const calls = { count: 0 };
  const finalists = await Promise.all([match(conversation, texts[0], texts[1], calls), match(conversation, texts[2], texts[3], calls)]);
  const winner = await match(conversation, finalists[0], finalists[1], calls);
  return {
    id: drawn.id,
    object: "chat.completion",
    created: drawn.created,
    model: drawn.model,
    choices: [{ index: 0, message: { role: "assistant", content: winner }, finish_reason: "stop" }],
    usage: drawn.usage,
    verdict: { judge: { calls: calls.count } },
  };
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    bestOfFour(JSON.parse(Buffer.concat(chunks).toString("utf8"))).then(
      (answer) => {
        const text = JSON.stringify(answer);
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
        res.end(text);
      },
      () => res.writeHead(502).end(),
    );
  });
});
server.listen(0, "127.0.0.1", () => console.log(`floor best-of-4 listening on http://127.0.0.1:${server.address().port}/v1`));
