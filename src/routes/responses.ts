// POST /v1/responses: text-only requests are reranked through the chat pipeline and answered as a Response object
// (streamed as Responses events when asked); everything else, and n = 1 / strategy none, goes to the generator as is.
import type { Context } from "hono";
import type { AppContext } from "../app";
import type { ChatRequest } from "../openai/chat";
import { responseEventStream } from "../openai/response-events";
import { isOwnResponseId, newResponseId, refuseChatOnly, responsesParamOf, responsesRequestSchema, toChatRequest, toResponseObject, type ChatResult, type InputShape } from "../openai/responses";
import { badRequest, ProxyError } from "../errors";
import { checkConversationLimits, checkMessageCount } from "../limits";
import { resolveOptions } from "../options";
import { passThrough } from "../passthrough";
import { generatorFor } from "../byok";
import type { PipelineOutcome } from "../pipeline";
import { completionBody, verdictHeaders } from "../response";
import { arrivedAt, probeOf, settleLater, waitUntilOf } from "../observe/middleware";
import { invalidBody, readJsonObject, reranker } from "./chat";
import { streamedResponse } from "./stream";
import { withFields } from "../util/with-fields";

/** Whether the request has instructions, which go first in the conversation as a system message. */
function hasInstructions(body: Record<string, unknown>): body is Record<string, unknown> & { instructions: string } {
  return typeof body.instructions === "string" && body.instructions !== "";
}

/**
 * The conversation the limits count and a guard looks for documents in: the mapped messages, or, for a request that
 * goes to the generator unmapped, its instructions (as a system message) and its input as sent.
 */
function conversationOf(body: Record<string, unknown>, mapped: ReturnType<typeof toChatRequest>): Record<string, unknown>[] {
  if ("chat" in mapped) return mapped.chat.messages as Record<string, unknown>[];
  const instructions = hasInstructions(body) ? [{ role: "system", content: body.instructions }] : [];
  if (Array.isArray(body.input)) return [...instructions, ...body.input.map((item) => (typeof item === "object" && item !== null ? item : {}))];
  return [...instructions, { role: "user", content: typeof body.input === "string" ? body.input : "" }];
}

/** A rerank whose errors name the Responses request's fields, not those of the chat request it became. */
function namingResponsesParams(rerank: (signal: AbortSignal) => Promise<PipelineOutcome>, shape: InputShape): (signal: AbortSignal) => Promise<PipelineOutcome> {
  return (signal) =>
    rerank(signal).catch((err: unknown) => {
      const param = err instanceof ProxyError ? responsesParamOf(err.param, shape) : null;
      if (!(err instanceof ProxyError) || param === err.param) throw err;
      throw err.with({ param });
    });
}

export async function handleResponses(c: Context, ctx: AppContext): Promise<Response> {
  const arrived = arrivedAt(c);
  const { raw, json } = await readJsonObject(c, arrived, ctx.config.timeouts.request_ms, ctx.config.limits);
  checkMessageCount(json.input, ctx.config.limits, "input");
  const parsed = responsesRequestSchema.safeParse(json);
  if (!parsed.success) throw invalidBody(parsed.error);
  const body = parsed.data;
  if (isOwnResponseId(body.previous_response_id)) {
    // Drawn through chat completions, a reranked Response was never stored by the generator, and verdict keeps none.
    throw badRequest("responses reranked by verdict are not stored: send the earlier turns in input instead", "previous_response_id", "response_not_stored");
  }
  const mapped = toChatRequest(body);
  const conversation = conversationOf(body, mapped);
  if ("chat" in mapped && conversation.length === 0) {
    refuseChatOnly(body); // chat's `messages` sent for `input` is the likeliest reason: say so
    throw badRequest("input holds no message to answer", "input", "empty_input");
  }
  // The Responses API has no `n`: one answer, chosen among verdict's candidates. The conversation goes along so that a
  // guard finds documents in `instructions` or the input, as it does in a chat request's messages.
  const options = resolveOptions({ model: body.model, messages: conversation, verdict: body.verdict } as unknown as ChatRequest, c.req.raw.headers, ctx.config);

  const reranked = !options.passThrough && !("skip" in mapped);
  // What the judge reads is bounded; a conversation passed through goes to no judge.
  if (reranked) checkConversationLimits(conversation, ctx.config.limits, "input", hasInstructions(body) ? "instructions" : undefined);
  probeOf(c).resolved({ model: options.upstreamModel, strategy: reranked ? options.strategy.strategy : "none", n: options.n, messages: conversation });

  if ("skip" in mapped && !options.passThrough && options.strategy.strategy === "guard") {
    // Passing it on would return an answer nobody checked against the documents.
    throw badRequest(`a guarded request cannot be checked with ${mapped.skip}: send text input without it, or no guard`, mapped.param, "guard_unsupported");
  }
  if (options.passThrough || "skip" in mapped) {
    const { verdict: _options, ...forward } = json;
    forward.model = options.upstreamModel;
    const unchanged = json.verdict === undefined && json.model === options.upstreamModel;
    const response = await passThrough(generatorFor(ctx, c.req.raw.headers).target, c.req.raw, "/responses", unchanged ? raw : JSON.stringify(forward), probeOf(c).headers, arrived);
    // Say why a request that would have been reranked was not, rather than silently returning one unjudged sample.
    if (!options.passThrough && "skip" in mapped) response.headers.set("x-verdict-passthrough", mapped.skip);
    return response;
  }

  // Only now: a pass-through goes as it came, chat parameters and all, for the generator's own /v1/responses to judge.
  refuseChatOnly(body);
  const chat = withFields(mapped.chat, { model: options.upstreamModel });
  const single = withFields(options, { choices: 1 });
  const toResult = (outcome: PipelineOutcome) => completionBody(outcome, body.model) as unknown as ChatResult;
  const shape = { instructions: hasInstructions(body), textInput: typeof body.input === "string" };
  const rerank = namingResponsesParams(reranker(ctx, c.req.raw.headers, arrived, chat, single, probeOf(c), waitUntilOf(c)), shape);
  const createdAt = Math.floor(arrived / 1000);
  if (body.stream === true) {
    const events = responseEventStream(body, newResponseId(), createdAt);
    return streamedResponse({
      clientSignal: c.req.raw.signal,
      keepaliveMs: ctx.config.server.keepalive_ms,
      headers: { "x-request-id": c.get("requestId") },
      opening: events.opening(),
      produce: async (signal) => events.finish(toResult(await rerank(signal))),
      renderError: events.failure,
      onUnexpectedError: (err) => ctx.logger.error({ event: "stream_error", request_id: c.get("requestId"), error: String(err) }),
      onSettled: settleLater(c),
    });
  }
  const outcome = await rerank(c.req.raw.signal);
  return c.json(toResponseObject(body, toResult(outcome), newResponseId(), createdAt), 200, verdictHeaders(outcome));
}
