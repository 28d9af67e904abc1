// The simulated OpenAI-compatible upstream: one Hono app that plays generator and judge, seeded and with latency.
import { Hono } from "hono";
import { countTokens, simulatedAnswer } from "./generator";
import { judgeReply } from "./judge";
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
}

export interface Simulator {
  app: Hono;
  options: SimOptions;
  /** Every chat request seen, in arrival order (tests read what verdict forwarded). */
  requests: SimRequestRecord[];
  count(role: "generator" | "judge"): number;
  /** Most non-streaming chat calls in flight at once since the start or the last resetPeak(). */
  peakInFlight(): number;
  resetPeak(): void;
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
  let inFlight = 0;
  let peak = 0;
  const app = new Hono();

  // Counts calls until their handler returns: the whole call for JSON answers (streams count until they start).
  app.use("/v1/chat/completions", async (_c, next) => {
    peak = Math.max(peak, ++inFlight);
    try {
      await next();
    } finally {
      inFlight -= 1;
    }
  });
  // For tests in another runtime (workerd) that cannot read this object: counts and peak concurrency over HTTP.
  app.get("/sim/stats", (c) => c.json({ generator: count("generator"), judge: count("judge"), peak_in_flight: peak }));
  app.post("/sim/stats/reset-peak", (c) => ((peak = inFlight), c.json({ peak_in_flight: peak })));

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
    const judged = judgeReply(text(lastUser?.content), options.judge, random, body.logprobs === true);
    const role = judged ? "judge" : "generator";
    const record: SimRequestRecord = { role, body, headers: Object.fromEntries(c.req.raw.headers), aborted: false };
    requests.push(record);
    const signal = c.req.raw.signal;
    signal.addEventListener("abort", () => (record.aborted = true), { once: true });

    const n = typeof body.n === "number" ? body.n : 1;
    if (n > 1 && !options.supports_n) return c.json(badRequest("n > 1 is not supported by this server", "n"), 400);
    const callId = ++callCounter;
    const maxTokens = typeof body.max_tokens === "number" ? body.max_tokens : Infinity;

    const texts: string[] = [];
    if (judged) {
      texts.push(judged.text);
    } else {
      const prompt = messages.map((m) => text(m.content)).join("\n");
      const base = typeof body.seed === "number" ? body.seed : options.seed * 1_000_003 + callId;
      for (let i = 0; i < n; i++) {
        const spec = options.generator;
        const seed = spec.variants > 0 ? (base * 31 + i) % spec.variants : base * 31 + i;
        texts.push(simulatedAnswer({ prompt, seed, minSentences: spec.min_sentences, maxSentences: spec.max_sentences }));
      }
    }

    const choices = texts.map((full, index) => {
      const words = full.split(" ");
      const truncated = countTokens(full) > maxTokens;
      const content = truncated ? words.slice(0, Math.max(1, maxTokens)).join(" ") : full;
      const logprobs = judged && !truncated ? judged.logprobs : null;
      return { index, message: { role: "assistant", content, refusal: null }, logprobs, finish_reason: truncated ? "length" : "stop" };
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
      return streamCompletion(c, completion, { latency, random, signal, includeUsage });
    }
    try {
      await sleep(delayFor(latency, completionTokens / Math.max(1, n), random), signal);
    } catch {
      return new Response(null, { status: 499 });
    }
    return c.json(completion);
  });

  function count(role: "generator" | "judge"): number {
    return requests.filter((r) => r.role === role).length;
  }
  return {
    app,
    options,
    requests,
    count,
    peakInFlight: () => peak,
    resetPeak: () => void (peak = inFlight),
  };
}

