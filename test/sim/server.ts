// The simulated OpenAI-compatible upstream: one Hono app that plays generator and judge, seeded and with latency.
import { Hono } from "hono";
import { completionTokensOf, generatorChoices, type SimChoice } from "./answers";
import { beforeAnswer, SimConnectionReset, spoilAnswer } from "./fault-responses";
import { createFaultPicker, faultyTexts, type FaultKind, type FaultPicker } from "./faults";
import { countTokens } from "./generator";
import { judgeReply } from "./judge";
import { seededRandom } from "./random";
import { simOptionsSchema, type SimOptions, type SimOptionsInput } from "./options";
import { addResponsesRoute } from "./responses";
import { streamCompletion } from "./stream";
import { delayFor, sleep } from "./timing";

interface SimMessage {
  role: string;
  content?: unknown;
}

export interface SimRequestRecord {
  role: "generator" | "judge";
  /** The latency the model drew for this call, in ms (0 until drawn). */
  delay_ms: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
  /** The connection was dropped (or the request aborted) before the answer was fully sent. */
  aborted: boolean;
  /** The whole answer was sent. */
  finished: boolean;
  /** performance.now() when the request arrived and when its answer was fully sent: tests compare overlaps. */
  receivedAt: number;
  finishedAt?: number;
  /** The completion the simulator answered with (streamed or not). */
  response?: unknown;
  /** The fault injected into this call, if any. */
  fault: FaultKind | null;
  /** What the simulated judge read as the two answers (pairwise judge calls only). */
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
  /** Most non-streaming chat calls in flight at once since the start or the last resetPeak(). */
  peakInFlight(): number;
  resetPeak(): void;
}

function text(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p: { text?: string }) => p?.text ?? "").join("");
  return "";
}

export function markFinished(record: SimRequestRecord): void {
  record.finished = true;
  record.finishedAt = performance.now();
}

const badRequest = (message: string, param: string | null) => ({
  error: { message, type: "invalid_request_error", param, code: null },
});

export function createSimulator(input: SimOptionsInput = {}): Simulator {
  const options = simOptionsSchema.parse(input);
  const random = seededRandom(options.seed);
  const requests: SimRequestRecord[] = [];
  // Counted apart from the records: a long run (the CLI, a benchmark) keeps none, and /sim/stats still counts.
  const calls = { generator: 0, judge: 0 };
  const keep = (record: SimRequestRecord) => {
    calls[record.role] += 1;
    if (options.record_requests) requests.push(record);
  };
  let callCounter = 0;
  let answerCursor = 0;
  const faults = createFaultPicker(options.faults, options.seed);
  let inFlight = 0;
  let peak = 0;
  const app = new Hono();
  app.onError((err, c) => {
    if (err instanceof SimConnectionReset) throw err; // in-process: app.fetch rejects, as fetch does on a reset
    return c.json({ error: { message: "simulator error", type: "server_error", param: null, code: null } }, 500);
  });

  // As OpenAI answers a route it does not have: verdict passes other /v1 routes through, so a client sees this.
  app.notFound((c) =>
    c.json({ error: { message: `the simulator has no route for ${c.req.method} ${c.req.path}`, type: "invalid_request_error", param: null, code: "unknown_url" } }, 404),
  );

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
    const judged = judgeReply(text(lastUser?.content), options.judge, random, body.logprobs === true, options.seed);
    const role = judged ? "judge" : "generator";
    const fault = faults.pick(role);
    const record: SimRequestRecord = {
      role,
      delay_ms: 0,
      body,
      headers: Object.fromEntries(c.req.raw.headers),
      aborted: false,
      finished: false,
      receivedAt: performance.now(),
      fault,
      ...(judged?.pair ? { pair: judged.pair } : {}),
    };
    keep(record);
    const signal = c.req.raw.signal;
    // Only an abort while the answer is still owed counts; a signal that fired before we listened counts too.
    const onAbort = () => (record.aborted ||= !record.finished);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });

    const n = typeof body.n === "number" ? body.n : 1;
    if (n > 1 && !options.supports_n) {
      markFinished(record);
      return c.json(badRequest("n > 1 is not supported by this server", "n"), 400);
    }
    const early = await beforeAnswer(c, fault, options.faults);
    if (early) return early;
    const callId = ++callCounter;

    let choices: SimChoice[];
    const fixed = options.generator.answers;
    if (judged) {
      const [content] = faultyTexts([judged.text], fault, random);
      choices = [{ index: 0, message: { role: "assistant", content: content!, refusal: null }, logprobs: judged.logprobs as SimChoice["logprobs"], finish_reason: "stop" }];
    } else if (fixed?.length) {
      const answer = () => ({ role: "assistant" as const, content: fixed[answerCursor++ % fixed.length]!, refusal: null });
      choices = Array.from({ length: n }, (_, index) => ({ index, message: answer(), logprobs: null, finish_reason: "stop" }));
    } else {
      const prompt = messages.map((m) => text(m.content)).join("\n");
      const base = typeof body.seed === "number" ? body.seed : options.seed * 1_000_003 + callId;
      const variants = options.generator.variants;
      const seeds = Array.from({ length: n }, (_, i) => (variants > 0 ? (base * 31 + i) % variants : base * 31 + i));
      choices = spoilChoices(generatorChoices(body, prompt, seeds, options), fault, random);
    }
    const promptTokens = countTokens(messages.map((m) => text(m.content)).join("\n"));
    const completionTokens = completionTokensOf(choices);
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
    record.response = completion;

    const latency = options[role].latency;
    if (body.stream === true) {
      const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
      return spoilAnswer(c, fault, streamCompletion(c, completion, { latency, random, signal, includeUsage, onFinished: () => markFinished(record) }));
    }
    try {
      record.delay_ms = delayFor(latency, completionTokens / Math.max(1, n), random);
      await sleep(record.delay_ms, signal);
    } catch {
      return new Response(null, { status: 499 });
    }
    markFinished(record);
    return spoilAnswer(c, fault, c.json(completion));
  });

  function count(role: "generator" | "judge"): number {
    return calls[role];
  }

  addResponsesRoute(app, options, keep, () => ++callCounter);

  return {
    app,
    options,
    requests,
    count,
    peakInFlight: () => peak,
    resetPeak: () => void (peak = inFlight),
    faults: faults.injected,
  };
}

/** Garbage or empty answers replace the text of every text choice (tool calls are left alone). */
function spoilChoices(choices: SimChoice[], fault: FaultKind | null, random: () => number): SimChoice[] {
  const texts = faultyTexts(choices.map((ch) => ch.message.content ?? ""), fault, random);
  return choices.map((ch, i) => (ch.message.content === null ? ch : { ...ch, message: { ...ch.message, content: texts[i]! } }));
}
