// POST /v1/chat/completions: validate once, resolve options, then pass through or rerank.
import type { Context } from "hono";
import type { z } from "zod";
import type { AppContext } from "../app";
import { withinBudget } from "../budget";
import { generatorFor } from "../byok";
import { badRequest } from "../errors";
import { checkConversationLimits, parseJsonBody } from "../limits";
import { chatRequestSchema } from "../openai/chat";
import { resolveOptions } from "../options";
import { passThrough } from "../passthrough";
import { runPipeline } from "../pipeline";
import { completionBody, verdictHeaders } from "../response";

/** A zod path as OpenAI writes params: messages[0].content */
export function paramOf(path: PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), "");
}

function invalidBody(error: z.ZodError) {
  const issue = error.issues[0]!;
  const param = paramOf(issue.path);
  const missing = issue.code === "invalid_type" && issue.message.includes("undefined");
  return badRequest(missing ? `missing required parameter: ${param}` : `invalid ${param || "body"}: ${issue.message}`, param || null);
}

export async function readJsonObject(c: Context): Promise<{ raw: string; json: Record<string, unknown> }> {
  const raw = await c.req.text();
  return { raw, json: parseJsonBody(raw, c.req.header("content-type") ?? null) };
}

export async function handleChatCompletions(c: Context, ctx: AppContext): Promise<Response> {
  const arrived = Date.now(); // the budget counts from here, reading and checking the body included
  const { raw, json } = await readJsonObject(c);
  const parsed = chatRequestSchema.safeParse(json);
  if (!parsed.success) throw invalidBody(parsed.error);
  checkConversationLimits(parsed.data.messages, ctx.config.limits);
  const options = resolveOptions(parsed.data, c.req.raw.headers, ctx.config);
  const { verdict: _options, ...forward } = json;
  forward.model = options.upstreamModel;
  const generator = generatorFor(ctx, c.req.raw.headers);

  if (options.passThrough) {
    // Untouched bodies go upstream byte for byte; only a stripped `verdict` or a resolved model forces re-encoding.
    const unchanged = json.verdict === undefined && json.model === options.upstreamModel;
    return passThrough(generator.target, c.req.raw, "/chat/completions", unchanged ? raw : JSON.stringify(forward));
  }
  const { stream: _stream, stream_options: _streamOptions, ...sampled } = forward;
  const budget = Math.max(1, ctx.config.timeouts.request_ms - (Date.now() - arrived));
  const outcome = await withinBudget(budget, c.req.raw.signal, (signal) =>
    runPipeline(sampled, options, generator.pipeline, signal),
  );
  if (outcome.degraded.length > 0) {
    const errors = outcome.draw.errors.map((e) => `${e.status} ${e.message}`);
    ctx.logger.warn({ event: "degraded", request_id: c.get("requestId"), degraded: outcome.degraded, errors });
  }
  return c.json(completionBody(outcome, parsed.data.model), 200, verdictHeaders(outcome));
}
