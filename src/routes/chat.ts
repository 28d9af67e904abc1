// POST /v1/chat/completions: validate once, resolve options, then pass through or rerank.
import type { Context } from "hono";
import type { z } from "zod";
import type { AppContext } from "../app";
import type { HeaderSource } from "../auth";
import { budgetExceeded, readWithinBudget, withinBudget } from "../budget";
import { admissionRules } from "../candidates";
import type { Config } from "../config";
import { generatorFor } from "../byok";
import { badRequest, cancelledError, paramOf } from "../errors";
import { bodyText, checkConversationLimits, checkMessageCount, parseJsonBody, refuseEncodedBody } from "../limits";
import { arrivedAt, probeOf, settleLater, waitUntilOf } from "../observe/middleware";
import type { RequestProbe } from "../observe/probe";
import { chatRequestSchema, type ChatRequest } from "../openai/chat";
import { replayChunks } from "../openai/chunks";
import { encodeEvent } from "../openai/sse";
import { resolveOptions, type ResolvedOptions } from "../options";
import { passThrough } from "../passthrough";
import { runPipeline, type PipelineOutcome } from "../pipeline";
import { completionBody, verdictHeaders } from "../response";
import { streamedResponse, type StreamedWork } from "./stream";

/** A zod path as OpenAI writes params: messages[0].content */
export function invalidBody(error: z.ZodError) {
  const issue = error.issues[0]!;
  const param = paramOf(issue.path);
  const missing = issue.code === "invalid_type" && issue.message.includes("undefined");
  return badRequest(missing ? `missing required parameter: ${param}` : `invalid ${param || "body"}: ${issue.message}`, param || null);
}

export async function readJsonObject(c: Context, arrived: number, budgetMs: number, limits: Config["limits"]): Promise<{ raw: string; json: Record<string, unknown> }> {
  refuseEncodedBody(c.req.header("content-encoding"));
  const { text: raw, utf8 } = await readBodyText(c, arrived, budgetMs);
  return { raw, json: parseJsonBody(raw, c.req.header("content-type") ?? null, limits, utf8) };
}

/** The body's text within the request's budget, and whether its bytes were UTF-8 (src/limits.ts bodyText). */
async function readBodyText(c: Context, arrived: number, budgetMs: number): Promise<{ text: string; utf8: boolean }> {
  return bodyText(new Uint8Array(await readWithinBudget(c.req.arrayBuffer(), arrived, budgetMs)));
}

/**
 * The reranking run of one request: its generator (the client's key with bring-your-own-key) within its time budget.
 * Candidates are drawn whole, so the client's stream settings stay out of what goes to the generator.
 */
export function reranker(
  ctx: AppContext,
  headers: HeaderSource,
  arrived: number,
  forward: Record<string, unknown>,
  options: ResolvedOptions,
  probe: RequestProbe,
  keepAlive?: (work: Promise<unknown>) => void,
) {
  const { stream: _stream, stream_options: _streamOptions, ...body } = forward;
  const { pipeline } = generatorFor(ctx, headers);
  const whole = ctx.config.timeouts.request_ms;
  const left = whole - (Date.now() - arrived);
  // Spent before the work could start (a slow upload): refused at once, and nothing goes upstream.
  if (left <= 0) return () => Promise.reject(budgetExceeded(whole));
  return (signal: AbortSignal) =>
    withinBudget(left, signal, (scope) => runPipeline(body, options, pipeline, scope, probe, keepAlive), { wholeMs: whole }).then(
      // A client that left gets no answer: whatever the work ended with (fewer candidates, an upstream's failure once
      // its calls were aborted), the request was cancelled, and is counted and logged as that.
      (outcome) => (signal.aborted ? Promise.reject(cancelledError()) : outcome),
      (err: unknown) => Promise.reject(signal.aborted ? cancelledError() : err),
    );
}

/** A chat request read and checked: what both the Hono route and the Node chat lane decide from. */
export interface CheckedChat {
  json: Record<string, unknown>;
  request: ChatRequest;
  options: ResolvedOptions;
  /** The body for the generator: the client's, minus `verdict`, with the resolved model. */
  forward: Record<string, unknown>;
}

/** Throws the 400 to answer with when the body, its limits or its verdict options are wrong. */
export function checkChatRequest(raw: string, headers: HeaderSource, config: Config, utf8 = true): CheckedChat {
  refuseEncodedBody(headers.get("content-encoding"));
  const json = parseJsonBody(raw, headers.get("content-type"), config.limits, utf8);
  checkMessageCount(json.messages, config.limits);
  const parsed = chatRequestSchema.safeParse(json);
  if (!parsed.success) throw invalidBody(parsed.error);
  if (parsed.data.stream_options != null && parsed.data.stream !== true) throw badRequest("stream_options is only allowed when stream is true", "stream_options");
  const options = resolveOptions(parsed.data, headers, config);
  // What the judge reads is bounded; a conversation passed through goes to no judge, and its model bounds its length.
  if (!options.passThrough) checkConversationLimits(parsed.data.messages, config.limits);
  // A guard checks answers against documents; a call of a tool is no answer to check, and returning one unchecked
  // would not be a guarded answer. The Responses route refuses the same (src/routes/responses.ts).
  if (options.strategy.strategy === "guard") {
    const toolChoice = admissionRules(json).toolChoice;
    if (toolChoice === "auto" || toolChoice === "required") {
      throw badRequest('a guarded answer is a text answer checked against the documents: send tool_choice "none", or no tools, or no guard', "tools", "guard_unsupported");
    }
    // The legacy spelling of the same.
    if (Array.isArray(json.functions) && json.functions.length > 0 && json.function_call !== "none") {
      throw badRequest('a guarded answer is a text answer checked against the documents: send function_call "none", or no functions, or no guard', "functions", "guard_unsupported");
    }
  }
  const { verdict: _options, ...forward } = json;
  forward.model = options.upstreamModel;
  return { json, request: parsed.data, options, forward };
}

export function reportResolved(probe: RequestProbe, { options, request }: CheckedChat): void {
  probe.resolved({ model: options.upstreamModel, strategy: options.passThrough ? "none" : options.strategy.strategy, n: options.n, messages: request.messages });
}

/** Untouched bodies go upstream byte for byte; only a stripped `verdict` or a resolved model forces re-encoding. */
export function passThroughBody(raw: string, { json, options, forward }: CheckedChat): string {
  const unchanged = json.verdict === undefined && json.model === options.upstreamModel;
  return unchanged ? raw : JSON.stringify(forward);
}

/**
 * A reranked answer streamed as OpenAI streams a completion: keep-alive comments while the work runs, then its chunks
 * and [DONE], or an error event. `onSettled` hears how the work ended (the request's log line waits for it).
 */
export function rerankedStreamWork(
  ctx: AppContext,
  { json, request }: CheckedChat,
  rerank: (signal: AbortSignal) => Promise<PipelineOutcome>,
  { requestId, client, onSettled }: { requestId: string; client: AbortSignal; onSettled: (status: number, error?: unknown) => void },
): StreamedWork {
  const includeUsage = (json.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  return {
    clientSignal: client,
    keepaliveMs: ctx.config.server.keepalive_ms,
    headers: { "x-request-id": requestId },
    async produce(signal) {
      const outcome = await rerank(signal);
      const chunks = replayChunks(completionBody(outcome, request.model), includeUsage);
      return [...chunks.map((chunk) => encodeEvent(chunk)), encodeEvent("[DONE]")];
    },
    // OpenAI's own mid-stream failure: an event whose data is {"error": {...}}; the SDKs raise it as an APIError.
    renderError: (error) => encodeEvent(error.toJSON()),
    onUnexpectedError: (err) => ctx.logger.error({ event: "stream_error", request_id: requestId, error: String(err) }),
    onSettled,
  };
}

export async function handleChatCompletions(c: Context, ctx: AppContext): Promise<Response> {
  // The budget counts from the request's first byte: from here, or from when the Node lane began to read the body.
  const arrived = arrivedAt(c);
  const { text: raw, utf8 } = await readBodyText(c, arrived, ctx.config.timeouts.request_ms);
  const checked = checkChatRequest(raw, c.req.raw.headers, ctx.config, utf8);
  const { request: parsed, options, forward } = checked;
  const probe = probeOf(c);
  reportResolved(probe, checked);
  if (options.passThrough) {
    const { target } = generatorFor(ctx, c.req.raw.headers);
    return passThrough(target, c.req.raw, "/chat/completions", passThroughBody(raw, checked), probe.headers, arrived);
  }
  const rerank = reranker(ctx, c.req.raw.headers, arrived, forward, options, probe, waitUntilOf(c));
  if (parsed.stream === true) {
    return streamedResponse(rerankedStreamWork(ctx, checked, rerank, { requestId: c.get("requestId"), client: c.req.raw.signal, onSettled: settleLater(c) }));
  }
  const outcome = await rerank(c.req.raw.signal);
  return c.json(completionBody(outcome, parsed.model), 200, verdictHeaders(outcome));
}
