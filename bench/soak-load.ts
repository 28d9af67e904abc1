// The soak's client side: a steady mix of requests, each classified by what came back.
import { seededRandom } from "../test/sim/random";

export type Kind = "best_of_4" | "guarded" | "pass_through" | "pass_through_stream";

/** How one request ended. "hung" and "lost" and "verdict_5xx" must stay at zero. */
export type Outcome =
  | "ok_200" // a complete chat.completion, or a stream ending in [DONE]
  | "clean_error" // a 4xx/5xx in OpenAI's error shape that names an upstream cause, or a stream ending in an error event
  | "verdict_5xx" // `internal_error`, or a 5xx without OpenAI's error shape: verdict's own fault
  | "bad_200" // a 200 whose body is not a well-formed completion, or a stream that stops without [DONE] or an error
  | "hung" // no answer within the budget plus the grace period
  | "lost"; // the connection to verdict failed

export interface Tally {
  sent: number;
  byKind: Record<Kind, number>;
  outcomes: Record<Outcome, number>;
  statuses: Record<string, number>;
  codes: Record<string, number>;
  latenciesMs: number[];
  /** How far past the budget the slowest request_timeout answer came. */
  maxOverBudgetMs: number;
  examples: string[];
}

export function emptyTally(): Tally {
  return {
    sent: 0,
    byKind: { best_of_4: 0, guarded: 0, pass_through: 0, pass_through_stream: 0 },
    outcomes: { ok_200: 0, clean_error: 0, verdict_5xx: 0, bad_200: 0, hung: 0, lost: 0 },
    statuses: {},
    codes: {},
    latenciesMs: [],
    maxOverBudgetMs: 0,
    examples: [],
  };
}

const SOAK_DOCUMENT = "A worked example usually makes the reasoning easier to follow. The main idea can be stated in one line.";

function bodyFor(kind: Kind, i: number): Record<string, unknown> {
  const messages = [{ role: "user", content: `Soak request ${i}: explain a topic in a few sentences.` }];
  if (kind === "best_of_4") return { model: "sim-generator", messages, verdict: { n: 4 } };
  // The simulator's answers are filler, so most guarded requests abstain: the guard's refusal path under faults.
  if (kind === "guarded") return { model: "sim-generator", messages, verdict: { strategy: "guard", n: 4, context: SOAK_DOCUMENT } };
  return { model: "sim-generator", messages, verdict: { n: 1 }, ...(kind === "pass_through_stream" ? { stream: true } : {}) };
}

function isErrorShape(value: unknown): value is { error: { message: string; type: string; code: string | null } } {
  const error = (value as { error?: Record<string, unknown> } | null)?.error;
  return typeof error?.message === "string" && typeof error.type === "string" && "param" in error && "code" in error;
}

async function classify(response: Response, stream: boolean, tally: Tally): Promise<Outcome> {
  const text = await response.text();
  if (response.status === 200 && stream) {
    if (text.trimEnd().endsWith("data: [DONE]")) return "ok_200";
    const last = text.trimEnd().split("\n\n").at(-1) ?? "";
    try {
      const event = JSON.parse(last.replace(/^data: /, ""));
      if (isErrorShape(event)) return (tally.codes[`stream:${event.error.code}`] = (tally.codes[`stream:${event.error.code}`] ?? 0) + 1), "clean_error";
    } catch {
      // fall through: neither [DONE] nor an error event
    }
    return "bad_200";
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return response.status >= 500 ? "verdict_5xx" : "bad_200";
  }
  if (response.status === 200) {
    const { choices, verdict } = body as { choices?: { message?: { content?: unknown } }[]; verdict?: { strategy?: string; grounded?: unknown } };
    // A guarded answer must say whether it is grounded; an unflagged one would be an unchecked answer.
    if (verdict?.strategy === "guard" && typeof verdict.grounded !== "boolean") return "bad_200";
    return typeof choices?.[0]?.message?.content === "string" ? "ok_200" : "bad_200";
  }
  if (!isErrorShape(body)) return "verdict_5xx";
  const code = String(body.error.code);
  tally.codes[code] = (tally.codes[code] ?? 0) + 1;
  // A pass-through relays the upstream's own 500 (its code says so); only verdict's renderer says internal_error.
  if (code === "internal_error") return "verdict_5xx";
  return "clean_error";
}

export interface LoadOptions {
  url: string;
  until: number;
  concurrency: number;
  budgetMs: number;
  graceMs: number;
  seed: number;
}

/** Runs `concurrency` workers, each sending one request after another until `until`. */
export async function runLoad(options: LoadOptions, tally: Tally): Promise<void> {
  const random = seededRandom(options.seed);
  let counter = 0;
  const worker = async () => {
    while (Date.now() < options.until) {
      const i = counter++;
      const roll = random();
      const kind: Kind = roll < 0.4 ? "best_of_4" : roll < 0.55 ? "guarded" : roll < 0.8 ? "pass_through" : "pass_through_stream";
      tally.sent += 1;
      tally.byKind[kind] += 1;
      const started = performance.now();
      let outcome: Outcome;
      try {
        const response = await fetch(`${options.url}/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(bodyFor(kind, i)),
          signal: AbortSignal.timeout(options.budgetMs + options.graceMs),
        });
        tally.statuses[response.status] = (tally.statuses[response.status] ?? 0) + 1;
        outcome = await classify(response, kind === "pass_through_stream", tally);
        const elapsed = performance.now() - started;
        if (response.status === 504) tally.maxOverBudgetMs = Math.max(tally.maxOverBudgetMs, elapsed - options.budgetMs);
      } catch (err) {
        outcome = (err as Error).name === "TimeoutError" ? "hung" : "lost";
        if (tally.examples.length < 10) tally.examples.push(`${kind} ${outcome}: ${String((err as Error).cause ?? err)}`);
      }
      tally.outcomes[outcome] += 1;
      tally.latenciesMs.push(performance.now() - started);
      if ((outcome === "verdict_5xx" || outcome === "bad_200") && tally.examples.length < 10) tally.examples.push(`${kind} ${outcome}`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
}
