// POST /v1/chat/completions: validate once, resolve options, then pass through or rerank.
import type { Context } from "hono";
import type { z } from "zod";
import type { AppContext } from "../app";
import { badRequest } from "../errors";
import { probeOf } from "../observe/middleware";
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
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw badRequest("request body is not valid JSON", null, "invalid_json");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw badRequest("request body must be a JSON object", null, "invalid_json");
  }
  return { raw, json: json as Record<string, unknown> };
}

export async function handleChatCompletions(c: Context, ctx: AppContext): Promise<Response> {
  const { raw, json } = await readJsonObject(c);
  const parsed = chatRequestSchema.safeParse(json);
  if (!parsed.success) throw invalidBody(parsed.error);
  const options = resolveOptions(parsed.data, c.req.raw.headers, ctx.config);
  const probe = probeOf(c);
  probe.resolved({ model: options.upstreamModel, strategy: options.passThrough ? "none" : options.strategy.strategy, n: options.n, messages: parsed.data.messages });
  const { verdict: _options, ...forward } = json;
  forward.model = options.upstreamModel;

  if (options.passThrough) {
    // Untouched bodies go upstream byte for byte; only a stripped `verdict` or a resolved model forces re-encoding.
    const unchanged = json.verdict === undefined && json.model === options.upstreamModel;
    return passThrough(ctx.generatorTarget, c.req.raw, "/chat/completions", unchanged ? raw : JSON.stringify(forward), probe.headers);
  }
  const { stream: _stream, stream_options: _streamOptions, ...sampled } = forward;
  const outcome = await runPipeline(sampled, options, ctx.pipeline, c.req.raw.signal, probe);
  return c.json(completionBody(outcome, parsed.data.model), 200, verdictHeaders(outcome));
}
