// One streamed `n` call to the generator (generator.stream_sampling): verdict reads the SSE itself and hands each
// candidate over as soon as its own finish_reason arrives, so judging starts before the slowest sibling is done.
import OpenAI from "openai";
import { ProxyError } from "./errors";
import { withCallerSignal } from "./metrics/fetch";
import { hasMessage } from "./openai/chat";
import { createChunkAssembler, MalformedChunk, type AssembledChoice, type ChunkAssembler } from "./openai/assemble";
import { MAX_SSE_EVENT_CHARS, readSSE, SSEEventTooLarge } from "./openai/sse";
import { answerTooLarge, MAX_ANSWER_BYTES } from "./exchange";
import { createRedactor } from "./redact";
import { upstreamFailure, type Upstream } from "./upstream";
import { JSON_MEDIA_TYPE } from "./util/buffered-response";
import { childSignal } from "./util/child-signal";
import { completionMeta } from "./util/other-fields";
import { withFields } from "./util/with-fields";

type ChatParams = OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming;

export interface StreamedDraw {
  usage: ChunkAssembler["usage"];
  meta: ChunkAssembler["meta"];
  /** Choices the upstream sent without a message (an answer that ignored stream: true): lost, not candidates. */
  withoutMessage?: number;
}

/**
 * Reads what an upstream still sends after verdict has what it needs (the [DONE] and the end of the body come after the
 * usage), so that its keep-alive connection goes back to the pool; one that does not end within `graceMs` is closed.
 */
function drainRest(body: ReadableStream<Uint8Array>, graceMs = 1_000): void {
  const giveUp = new AbortController();
  const timer = setTimeout(() => giveUp.abort(), graceMs);
  void body
    .pipeTo(new WritableStream(), { signal: giveUp.signal })
    .catch(() => undefined)
    .finally(() => clearTimeout(timer));
}

/** Bearer-looking tokens and sk- keys, configured or not, as error bodies are scrubbed of them (src/redact.ts). */
const tokensOut = createRedactor([]);
/** An upstream's error message is cut here, as error bodies are read only so far. */
const MAX_ERROR_CHARS = 2_000;

/** A stream event too large to be a chunk: final (a ProxyError), not retried, as the pass-through ends such a stream. */
function eventTooLarge(): ProxyError {
  const mib = MAX_SSE_EVENT_CHARS / 1024 / 1024;
  return new ProxyError(502, `generator upstream sent a stream event larger than ${mib} MiB`, { type: "upstream_error", code: "upstream_event_too_large" });
}

/** Runs the call inside the generator's queue slot until the last byte, so the queue bounds streams like any call. */
const malformedEvent = () => new ProxyError(502, "generator upstream sent a malformed stream event", { type: "upstream_error", code: "generator_error" });

/**
 * An error sent in a body (an event in the stream, or a 200's JSON), as the same error sent as a response would be: an
 * APIError with its status (its `code` when that is one, else 500), message and `param`. In a stream it is retried
 * like one while no candidate has come (a 503 "overloaded"), and reported as the upstream's after. Tokens that look
 * like keys are taken out of its message (configured ones left the bytes already), and it is cut short.
 */
export function apiErrorFromBody(sent: unknown, headers: Headers = new Headers(), scrubKeys: ((text: string) => string) | null = null): InstanceType<typeof OpenAI.APIError> {
  const error = (typeof sent === "object" && sent !== null ? sent : { message: sent }) as { message?: unknown; type?: unknown; code?: unknown; param?: unknown };
  // Configured keys too, as JSON decoded them: an upstream that spelt one "\u006f..." in its body hid it from the hunt
  // through the bytes.
  const message = typeof error.message === "string" ? tokensOut(scrubKeys ? scrubKeys(error.message) : error.message).slice(0, MAX_ERROR_CHARS) : "upstream sent an error";
  const code = Number(error.code);
  const status = Number.isInteger(code) && code >= 400 && code <= 599 ? code : 500;
  const param = typeof error.param === "string" ? error.param : null;
  return OpenAI.APIError.generate(status, { error: { message, type: typeof error.type === "string" ? error.type : null, code: typeof error.code === "string" ? error.code : null, param } }, undefined, headers);
}

/**
 * The error an upstream sent where an answer or chunk belongs, or null: OpenAI's `{"error": {...}}`, and the flat
 * `{"object": "error", "message": ..., "code": 400}` of vLLM and SGLang, which has no `error` key to notice.
 */
export function errorInsteadOfAnswer(sent: Record<string, unknown>): unknown {
  const { error } = sent;
  // `"error": null` (or false, "") beside an answer says there is none.
  if ((typeof error === "object" && error !== null) || (typeof error === "string" && error !== "")) return error;
  return sent.object === "error" ? sent : null;
}

/**
 * Draws `params.n` candidates as one stream, handing each choice to `onChoice` as it finishes. `soFar` is kept up to
 * date with the stream's id and time and, once it comes, its usage: a stream that breaks off after some candidates
 * still drew them, and they are answered under its id and counted.
 */
export function streamedDraw(
  upstream: Upstream,
  params: Record<string, unknown>,
  signal: AbortSignal,
  onChoice: (choice: AssembledChoice) => void,
  headers: Record<string, string> = {},
  soFar: StreamedDraw = { usage: null, meta: null },
  scrubKeys: ((text: string) => string) | null = null,
): Promise<StreamedDraw> {
  const body = withFields(params, { stream: true, stream_options: { include_usage: true } }) as unknown as ChatParams;
  const expected = typeof params.n === "number" ? params.n : 1;
  return upstream.schedule(async (requestSignal) => {
    // generator.timeout_ms bounds the whole call, body included, as it does an unstreamed draw. The SDK's own timer
    // covers the headers; the body gets what is left of it, since a stream that stalls halfway would otherwise hold the
    // request to its budget.
    const call = childSignal(requestSignal);
    const started = Date.now();
    let handed = 0;
    let response: Response | undefined;
    try {
      // asResponse(): the SDK still handles auth and the timeout until the headers; the body is ours to read.
      response = await upstream.client.chat.completions.create(body, { signal: call.signal, headers, fetchOptions: withCallerSignal(call.signal) }).asResponse();
      call.startTimer({ ms: Math.max(0, upstream.client.timeout - (Date.now() - started)), reason: () => new Error("timeout") });
      if (!response.body) throw new ProxyError(502, "generator upstream sent an empty stream", { type: "upstream_error", code: "generator_error" });
      // An upstream that ignores stream: true answers every choice at once: those are the candidates (and the tokens
      // billed), not a reason to draw them all again.
      if (JSON_MEDIA_TYPE.test(response.headers.get("content-type") ?? "")) {
        const answer = (await response.json()) as { id: string; created: number; model: string; system_fingerprint?: string; choices?: unknown; usage?: StreamedDraw["usage"] };
        // An error sent as the answer is that error; its fields are no completion's.
        const sentError = Array.isArray(answer.choices) ? null : errorInsteadOfAnswer(answer);
        if (sentError !== null) throw apiErrorFromBody(sentError, response.headers, scrubKeys);
        let withoutMessage = 0;
        soFar.meta = completionMeta(answer); // before the choices are handed over: each carries its call's fields
        for (const choice of Array.isArray(answer.choices) ? (answer.choices as AssembledChoice[]) : []) {
          if (hasMessage(choice)) handed += 1, onChoice(choice);
          else withoutMessage += 1;
        }
        return { usage: answer.usage ?? null, meta: soFar.meta, withoutMessage };
      }
      const assembler = createChunkAssembler();
      let received = 0;
      let done = false;
      for await (const event of readSSE(response.body)) {
        if (event.data === "[DONE]") {
          done = true;
          break;
        }
        // A whole answer's bound, as for JSON answers (src/exchange.ts): the assembled candidates are held in memory.
        if ((received += event.data.length) > MAX_ANSWER_BYTES) throw answerTooLarge();
        let chunk: Record<string, any>;
        try {
          chunk = JSON.parse(event.data);
        } catch {
          throw malformedEvent();
        }
        const failed = errorInsteadOfAnswer(chunk);
        if (failed !== null) throw apiErrorFromBody(failed, response.headers, scrubKeys);
        let finished: AssembledChoice[];
        try {
          finished = assembler.push(chunk);
        } catch (err) {
          if (err instanceof MalformedChunk) throw malformedEvent();
          throw err;
        }
        soFar.meta = assembler.meta;
        soFar.usage = assembler.usage;
        for (const choice of finished) handed += 1, onChoice(choice);
        // Every choice and the usage are in: nothing left worth waiting for, should [DONE] be slow to come.
        if (handed >= expected && assembler.usage) break;
      }
      // Ended, cleanly or halfway through an event, with choices unfinished and no [DONE]: cut off, as a reset would
      // be, not an answer with fewer choices to draw again one by one.
      if (!done && handed < expected) throw new Error("generator upstream's stream ended before every choice finished");
      drainRest(response.body);
      return { usage: assembler.usage, meta: assembler.meta };
    } catch (err) {
      // A stream that failed is not read on: closing it frees its connection (the read loop has let go of it).
      void response?.body?.cancel().catch(() => undefined);
      const failure = call.timedOut() ? new OpenAI.APIConnectionTimeoutError() : err instanceof SSEEventTooLarge ? eventTooLarge() : err;
      // Once a candidate is handed over the call is not made again (it would draw and bill all n anew): the failure is
      // final, as a ProxyError, which the retry loop never repeats; the candidates already in stay.
      throw handed > 0 ? upstreamFailure("generator", failure) : failure;
    } finally {
      call.release();
    }
  }, signal);
}
