// One non-streaming chat completion over plain fetch: the judge's many small calls and the candidate draws.
//
// Why not the openai SDK here: under load its per-call work (building and validating headers, request options, a
// debug line it formats for every response even with logging off) was about 18% of a best-of-4 request's CPU, for
// calls that are one JSON POST each. Failures are the SDK's own error classes, so retries (src/retry.ts) and the
// mapping to client errors (upstreamFailure) treat them exactly as before. The SDK client's organization and project
// (OPENAI_ORG_ID, OPENAI_PROJECT_ID) go along as it would send them, so every call of one upstream is billed alike.
import OpenAI from "openai";
import { ProxyError } from "./errors";
import { ExchangeTimeout, replyText, textInHand, type Exchange, type ExchangeReply } from "./exchange";
import { called } from "./util/called";
import { plainHeaders } from "./util/plain-headers";
import { utf8Bytes } from "./util/utf8-bytes";
import { withFields } from "./util/with-fields";

type ChatCompletion = OpenAI.Chat.Completions.ChatCompletion;

export interface ChatCallSettings {
  baseURL: string;
  /** The Authorization header's value, when the upstream has a key. */
  authorization?: string | undefined;
  /** Sent on every call (the organization and project headers), before the caller's own. */
  headers?: Record<string, string>;
  /** Per call, until the whole answer is in. */
  timeoutMs: number;
  exchange: Exchange;
}

/**
 * `body`: the request, or its JSON text when the caller serialised it (the judge, which sends the same prompts and
 * schemas over and over). `headers`: the call's own (request id, trace context, a client's key), names in lower case as
 * the exchange sends them, and never changed afterwards: calls given the same object share one merged copy of it.
 */
export type ChatCall = (body: object | string, signal: AbortSignal | undefined, headers?: Record<string, string>) => Promise<ChatCompletion>;

function parsedOrUndefined(text: string): object | undefined {
  try {
    return JSON.parse(text) as object;
  } catch {
    return undefined;
  }
}

/**
 * An error body in OpenAI's shape, `{"error": {...}}`, from the flat ones other servers send: SGLang's and older
 * vLLM's `{"object": "error", "message": ...}`, `{"error": "text"}`, or FastAPI's `{"detail": ...}` (Root Signals'
 * API: "Invalid API key.", or a list of what failed validation). The SDK reads only the first, and the client would
 * get "status 400" instead of the upstream's message.
 */
export function openAIShaped(json: unknown): unknown {
  if (typeof json !== "object" || json === null) return json;
  const body = json as { error?: unknown; message?: unknown; type?: unknown; object?: unknown; code?: unknown; param?: unknown; detail?: unknown };
  if (typeof body.error === "object" && body.error !== null) return json;
  if (typeof body.error === "string") return { error: { message: body.error } };
  if (typeof body.detail === "string") return { error: { message: body.detail } };
  if (body.detail !== undefined && body.message === undefined) return { error: { message: JSON.stringify(body.detail).slice(0, 1_000) } };
  if (typeof body.message !== "string") return json;
  const type = typeof body.type === "string" ? body.type : undefined;
  return { error: { message: body.message, ...(type ? { type } : {}), code: typeof body.code === "string" ? body.code : null, param: typeof body.param === "string" ? body.param : null } };
}

/** The longest part of an upstream's plain-text error kept as the message; the rest is cut. */
const TEXT_ERROR_CHARS = 300;

/**
 * An error an upstream wrote as plain text ("model not found"), as the message of OpenAI's shape: the client would
 * otherwise learn only the status. Not an HTML page, whose text is markup. The body has been scrubbed of keys already
 * (src/redact.ts, redactingExchange).
 */
function textError(text: string): { error: { message: string } } | undefined {
  const line = text.replace(/\s+/g, " ").trim();
  if (line === "" || line.startsWith("<")) return undefined;
  return { error: { message: line.length > TEXT_ERROR_CHARS ? `${line.slice(0, TEXT_ERROR_CHARS)}…` : line } };
}

/** The answer's completion, or the SDK's error for the status it came with. */
function completion(reply: ExchangeReply, text: string): ChatCompletion {
  if (reply.status < 200 || reply.status >= 300) {
    const parsed = parsedOrUndefined(text);
    const json = parsed === undefined ? textError(text) : openAIShaped(parsed);
    throw OpenAI.APIError.generate(reply.status, json as object | undefined, json ? undefined : text, new Headers(reply.headers));
  }
  return JSON.parse(text) as ChatCompletion; // a SyntaxError is a bad answer: retried, then reported as such
}

const NO_HEADERS: Record<string, string> = Object.freeze({});

export function createChatCall({ baseURL, authorization, headers: fixed = {}, timeoutMs, exchange }: ChatCallSettings): ChatCall {
  const url = `${baseURL}/chat/completions`;
  const common: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json",
    "user-agent": "verdict",
    ...plainHeaders(fixed),
    ...(authorization ? { authorization } : {}),
  };
  // The caller's headers last: bring-your-own-key passes the client's authorization this way. A request hands the same
  // headers object to all its calls (its x-request-id and trace context), so the two are merged once per object, not
  // spread per call: that spread was about 1% of a best-of-4's CPU under load. Frozen, as calls share it.
  const mergedFor = new WeakMap<Record<string, string>, Record<string, string>>();
  const headersWith = (extra: Record<string, string>): Record<string, string> => {
    let merged = mergedFor.get(extra);
    if (merged === undefined) {
      const all: Record<string, string> = withFields(common, extra);
      // An empty value takes a common header out (bring-your-own-key: the operator's organization is not the client's).
      for (const name in all) if (all[name] === "") delete all[name];
      mergedFor.set(extra, (merged = Object.freeze(all)));
    }
    return merged;
  };
  // With then rather than async, for what each call holds while it waits (src/util/called.ts says why).
  const send = (bytes: Uint8Array, signal: AbortSignal | undefined, extraHeaders: Record<string, string>): Promise<ChatCompletion> => {
    if (signal?.aborted) return Promise.reject(new OpenAI.APIUserAbortError());
    const headers = headersWith(extraHeaders);
    // The call did not come back whole: the SDK's errors for an abort, a timeout, a connection that failed.
    const unreached = (err: unknown): never => {
      if (signal?.aborted) throw new OpenAI.APIUserAbortError();
      if (err instanceof ExchangeTimeout) throw new OpenAI.APIConnectionTimeoutError();
      if (err instanceof ProxyError) throw err; // says what went wrong itself (an answer too large), and is final
      throw new OpenAI.APIConnectionError({ message: undefined, cause: err as Error });
    };
    return called(exchange, { url, method: "POST", headers, body: bytes, signal, timeoutMs, whole: true }).then((reply) => {
      const text = textInHand(reply);
      if (text !== undefined) return completion(reply, text);
      return replyText(reply).then((read) => completion(reply, read), unreached);
    }, unreached);
  };
  // The body is serialised here, before the part that waits, and sent as bytes: what waits for the answer holds on to
  // what it was given, and neither the body (a judge's prompt, documents and all) nor its JSON text should stay on the
  // heap, copied by each young-generation collection, while the call waits for its answer. Under load with
  // 20,000-character documents, sending bytes cut a best-of-4's CPU by about 8% and not holding the body its peak
  // memory by about 19 MiB (bench/README.md, bench:ab-load); with short prompts neither made a difference.
  return (body, signal, extraHeaders = NO_HEADERS) => {
    let bytes: Uint8Array;
    try {
      bytes = utf8Bytes(typeof body === "string" ? body : JSON.stringify(body));
    } catch (err) {
      return Promise.reject(err); // as from the part that waits: callers see a rejected call, never a throw
    }
    return send(bytes, signal, extraHeaders);
  };
}
