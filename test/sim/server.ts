// The simulated OpenAI-compatible upstream: one Hono app that plays generator and judge, seeded and with latency.
import { Hono } from "hono";
import { beforeAnswer, SimConnectionReset, spoilAnswer } from "./fault-responses";
import { createFaultPicker, faultyTexts, type FaultKind, type FaultPicker } from "./faults";
import { countTokens, simulatedAnswer } from "./generator";
import { pairwiseReply, readPairwisePrompt, simulatedPreference } from "./judge";
import { seededRandom } from "./random";
import { simOptionsSchema, type SimOptions, type SimOptionsInput } from "./options";
import { streamCompletion } from "./stream";
import { delayFor, sleep } from "./timing";

interface SimMessage {
  role: string;
  content?: unknown;
}

export interface SimRequestRecord {
  role: "generator" | "judge";
  body: Record<string, unknown>;
  headers: Record<string, string>;
  aborted: boolean;
  /** The fault injected into this call, if any. */
  fault: FaultKind | null;
  /** What the simulated judge read as the two answers (judge calls only). */
  pair?: { a: string; b: string };
}

export interface Simulator {
  app: Hono;
  options: SimOptions;
  /** Every chat request seen, in arrival order (tests read what verdict forwarded). */
  requests: SimRequestRecord[];
  count(role: "generator" | "judge"): number;
  /** Faults injected so far, by role and kind. */
  faults: FaultPicker["injected"];
}

function text(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p: { text?: string }) => p?.text ?? "").join("");
  return "";
}

const badRequest = (message: string, param: string | null) => ({
  error: { message, type: "invalid_request_error", param, code: null },
});

export function createSimulator(input: SimOptionsInput = {}): Simulator {
  const options = simOptionsSchema.parse(input);
  const random = seededRandom(options.seed);
  const requests: SimRequestRecord[] = [];
  let callCounter = 0;
  const faults = createFaultPicker(options.faults, options.seed);
  const app = new Hono();
  app.onError((err, c) => {
    if (err instanceof SimConnectionReset) throw err; // in-process: app.fetch rejects, as fetch does on a reset
    return c.json({ error: { message: "simulator error", type: "server_error", param: null, code: null } }, 500);
  });

  app.get("/v1/models", (c) =>
    c.json({
      object: "list",
      data: ["sim-generator", "sim-judge"].map((id) => ({ id, object: "model", created: 0, owned_by: "verdict-sim" })),
    }),
  );

  app.post("/v1/chat/completions", async (c) => {
    let body: Record<string, unknown>;
    try {
      body = await c.req.json();
    } catch {
      return c.json(badRequest("body is not JSON", null), 400);
    }
    const messages = Array.isArray(body.messages) ? (body.messages as SimMessage[]) : [];
    if (messages.length === 0) return c.json(badRequest("messages must be a non-empty array", "messages"), 400);
    const lastUser = [...messages].reverse().find((m) => m.role === "user");
    const pair = readPairwisePrompt(text(lastUser?.content));
    const role = pair ? "judge" : "generator";
    const fault = faults.pick(role);
    const record: SimRequestRecord = { role, body, headers: Object.fromEntries(c.req.raw.headers), aborted: false, fault };
    if (pair) record.pair = pair;
    if (options.record_requests) requests.push(record);
    const signal = c.req.raw.signal;
    signal.addEventListener("abort", () => (record.aborted = true), { once: true });

    const n = typeof body.n === "number" ? body.n : 1;
    if (n > 1 && !options.supports_n) return c.json(badRequest("n > 1 is not supported by this server", "n"), 400);
    const early = await beforeAnswer(c, fault, options.faults);
    if (early) return early;
    const callId = ++callCounter;
    const maxTokens = typeof body.max_tokens === "number" ? body.max_tokens : Infinity;

    const texts: string[] = [];
    if (pair) {
      const winner = simulatedPreference(pair.a, pair.b, options.judge, random);
      texts.push(pairwiseReply(pair.a, pair.b, winner, options.judge.style));
    } else {
      const prompt = messages.map((m) => text(m.content)).join("\n");
      const base = typeof body.seed === "number" ? body.seed : options.seed * 1_000_003 + callId;
      for (let i = 0; i < n; i++) {
        const spec = options.generator;
        const seed = spec.variants > 0 ? (base * 31 + i) % spec.variants : base * 31 + i;
        texts.push(simulatedAnswer({ prompt, seed, minSentences: spec.min_sentences, maxSentences: spec.max_sentences }));
      }
    }

    const choices = faultyTexts(texts, fault, random).map((full, index) => {
      const words = full.split(" ");
      const truncated = countTokens(full) > maxTokens;
      const content = truncated ? words.slice(0, Math.max(1, maxTokens)).join(" ") : full;
      return { index, message: { role: "assistant", content, refusal: null }, logprobs: null, finish_reason: truncated ? "length" : "stop" };
    });
    const promptTokens = countTokens(messages.map((m) => text(m.content)).join("\n"));
    const completionTokens = choices.reduce((sum, ch) => sum + countTokens(ch.message.content), 0);
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    const completion = {
      id: `chatcmpl-sim-${callId}`,
      object: "chat.completion",
      created: 1_700_000_000 + callId,
      model: String(body.model ?? "sim"),
      choices,
      usage,
      system_fingerprint: "verdict-sim",
    };

    const latency = options[role].latency;
    if (body.stream === true) {
      const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
      return spoilAnswer(c, fault, streamCompletion(c, completion, { latency, random, signal, includeUsage }));
    }
    try {
      await sleep(delayFor(latency, completionTokens / Math.max(1, n), random), signal);
    } catch {
      return new Response(null, { status: 499 });
    }
    return spoilAnswer(c, fault, c.json(completion));
  });

  return {
    app,
    options,
    requests,
    count: (role) => requests.filter((r) => r.role === role).length,
    faults: faults.injected,
  };
}

