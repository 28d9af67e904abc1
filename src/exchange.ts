// One HTTP call to an upstream, without the web Request and Response objects: what pass-through and the lean chat
// calls need (a status, headers, the body as bytes or as chunks), with the time limit taken as a number.
//
// Why: on Node, building a Response and its Headers per upstream call, a Response again for each wrapper (retries,
// metrics, redaction), and an AbortController per attempt only to carry a timer, cost about a fifth of a
// pass-through's CPU (bench/README.md). The Node adapter answers exchanges straight from undici's connection pools,
// below its fetch (src/adapters/node-exchange.ts); everywhere else (Workers, tests that hand in a fetch) an exchange is
// made over fetch, below.
import { ProxyError } from "./errors";
import type { FetchLike } from "./upstream";
import { bodyBytes, JSON_MEDIA_TYPE } from "./util/buffered-response";
import { bodyChunks, settlingChunks } from "./util/body-chunks";
import { childSignal } from "./util/child-signal";
import { undoLeftCoding } from "./util/content-coding";
import { withFields } from "./util/with-fields";

export interface ExchangeRequest {
  url: string;
  method: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body?: string | Uint8Array | ReadableStream<Uint8Array> | null | undefined;
  /** The caller's: when it aborts, the call (and a streamed body being read) ends with its reason. */
  signal?: AbortSignal | undefined;
  /**
   * Until the answer is in hand: its headers, and the whole body of an answer that comes whole (below). Ends the call
   * with ExchangeTimeout.
   */
  timeoutMs?: number | undefined;
  /** Read every answer whole under the time limit, not only JSON and failed ones (a caller that wants the text). */
  whole?: boolean;
  /** When the client's request began to arrive (epoch ms): a request's time budget counts from there, upload included. */
  arrivedAt?: number | undefined;
  /**
   * Epoch ms by which the answer must have begun, time spent waiting for an upstream slot included
   * (src/stream-slot.ts): once the call has its slot, timeoutMs is cut to what is left of it.
   */
  deadline?: number | undefined;
}

export interface ExchangeReply {
  status: number;
  /** Lower-case names; a repeated field's values joined with ", ". Content encoding already undone. */
  headers: Record<string, string>;
  /** Each Set-Cookie apart, when more than one came (a cookie's date has a comma, so the joined value is ambiguous). */
  cookies?: string[];
  /**
   * Whole: JSON answers, failed ones (not 2xx: an error page is read, scrubbed and maybe retried, so it must come
   * within the time limit; at most FAILED_BODY_LIMIT bytes of it), and every answer when asked. Any other as chunks
   * for one reader, which must read them to the end or stop early (the call holds its connection until then); null
   * when the answer has no body.
   */
  body: Uint8Array | AsyncIterable<Uint8Array> | null;
}

export type Exchange = (request: ExchangeRequest) => Promise<ExchangeReply>;

/** Headers for a Response: `headers`, and each of `cookies` as a Set-Cookie line of its own (not the joined value). */
export function headersWithCookies(headers: Record<string, string>, cookies: string[] | undefined): HeadersInit {
  if (cookies === undefined) return headers;
  const list = Object.entries(headers).filter(([name]) => name !== "set-cookie");
  return [...list, ...cookies.map((cookie): [string, string] => ["set-cookie", cookie])];
}

/** The call's own time limit ran out (not the caller's signal). */
export class ExchangeTimeout extends Error {
  override name = "ExchangeTimeout";
}

/** An exchange ended by its request's `deadline` (in the queue or after it), not by its own timeoutMs. */
export class DeadlinePassed extends ExchangeTimeout {
  override name = "DeadlinePassed";
}

/**
 * How much of a failed answer's body is read: enough for any error message, and a bound on what an error page (or a
 * compressed one that unpacks to gigabytes) can make verdict hold. The rest is dropped with the connection. A little
 * more than the 64 KiB the client is shown, so that a key across this cut is in the part the redaction drops
 * (src/redact.ts).
 */
export const FAILED_BODY_LIMIT = 68 * 1024;

/**
 * The most of a successful whole answer that is read (64 MiB, after decompression): a chat completion is a few KiB,
 * and an upstream that sends without end, or a small gzip that unpacks to gigabytes, must not take the process's
 * memory. An answer past it fails the call (it is not retried: it would come back as large).
 */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export function answerTooLarge(): ProxyError {
  return new ProxyError(502, `the upstream's answer is larger than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB`, { type: "upstream_error", code: "upstream_answer_too_large" });
}

/** Whether a body read up to `wholeLimit(status)` was cut there because it is too large to be an answer. */
export function overLimit(status: number, length: number): boolean {
  return status >= 200 && status < 300 && length >= MAX_ANSWER_BYTES;
}

/** The most of a whole answer's body that is read: MAX_ANSWER_BYTES of a successful one, FAILED_BODY_LIMIT of a failed one. */
export function wholeLimit(status: number): number {
  return status >= 200 && status < 300 ? MAX_ANSWER_BYTES : FAILED_BODY_LIMIT;
}

/** Statuses whose answers have no body. */
export const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/** True when an answer's body is read whole before the exchange resolves (see ExchangeReply.body). */
export function comesWhole(status: number, contentType: string | undefined, whole: boolean | undefined): boolean {
  return whole === true || status < 200 || status >= 300 || JSON_MEDIA_TYPE.test(contentType ?? "");
}

/** True for a reply whose body came whole. */
export function isWhole(body: ExchangeReply["body"]): body is Uint8Array {
  return body instanceof Uint8Array;
}

/** Ends a reply nobody will read, letting go of its connection. */
export function discard(reply: ExchangeReply): void {
  const body = reply.body;
  if (body !== null && !isWhole(body)) void body[Symbol.asyncIterator]().return?.()?.catch(() => undefined);
}

const utf8 = new TextDecoder();

/** A reply's body as text when it is already in hand (none, or whole); undefined when it must be read. */
export function textInHand(reply: ExchangeReply): string | undefined {
  const body = reply.body;
  if (body === null) return "";
  return isWhole(body) ? utf8.decode(body) : undefined;
}

/** A reply's body as text (a streamed one read to its end, up to `limit` characters). */
export async function replyText(reply: ExchangeReply, limit = Infinity): Promise<string> {
  const inHand = textInHand(reply);
  if (inHand !== undefined) return inHand;
  const body = reply.body as AsyncIterable<Uint8Array>;
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of body) {
    text += decoder.decode(chunk, { stream: true });
    if (text.length >= limit) break; // leaving the loop ends the stream
  }
  return text + decoder.decode();
}

/** A header lookup over a reply's headers, for code written against Headers (retry-after parsing). */
export function headerLookup(headers: Record<string, string>): { get(name: string): string | null; has(name: string): boolean } {
  return { get: (name) => headers[name.toLowerCase()] ?? null, has: (name) => headers[name.toLowerCase()] !== undefined };
}

/** A Response's body, or its first `limit` bytes (the rest cancelled, unread). */
function responseBytesUpTo(response: Response, limit: number): Promise<Uint8Array> {
  if (limit === Infinity || response.body === null) return bodyBytes(response);
  return bytesUpTo(response.body, limit);
}

/** A stream's bytes, or its first `limit` bytes (the rest cancelled, unread). */
export async function bytesUpTo(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (length < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.byteLength;
  }
  if (length >= limit) void reader.cancel().catch(() => undefined);
  const bytes = new Uint8Array(Math.min(length, limit));
  let at = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.length - at);
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

/**
 * Exchanges over a fetch: for Workers, and for tests that hand the app a fetch. The time limit is a child signal with a
 * timer, stopped once a streamed answer's headers are in; a JSON answer is read whole under it.
 */
export function exchangeOverFetch(fetchImpl: FetchLike): Exchange {
  return async ({ url, method, headers, body, signal, timeoutMs, whole }) => {
    const call = childSignal(signal, timeoutMs === undefined ? undefined : { ms: timeoutMs, reason: () => new ExchangeTimeout("upstream call timed out") });
    let streaming = false;
    try {
      const response = undoLeftCoding(await fetchImpl(url, {
        method,
        headers,
        body,
        signal: call.signal,
        ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
      } as RequestInit));
      const replyHeaders: Record<string, string> = {};
      response.headers.forEach((value, name) => (replyHeaders[name] = value));
      // Not every runtime's Headers has getSetCookie (older Workers types lack it).
      const cookies = (response.headers as Headers & { getSetCookie?: () => string[] }).getSetCookie?.() ?? [];
      const reply = { status: response.status, headers: replyHeaders, ...(cookies.length > 1 ? { cookies } : {}) };
      if (method === "HEAD" || NULL_BODY_STATUS.has(response.status)) return withFields(reply, { body: null });
      if (comesWhole(response.status, replyHeaders["content-type"], whole)) {
        const bytes = await responseBytesUpTo(response, wholeLimit(response.status));
        if (overLimit(response.status, bytes.length)) throw answerTooLarge();
        return withFields(reply, { body: bytes });
      }
      const chunks = bodyChunks(response);
      if (chunks === null) return withFields(reply, { body: null });
      streaming = true;
      // The stream still follows the caller's signal while it is read, and lets go of it when it ends.
      return withFields(reply, { body: settlingChunks(chunks, call.release) });
    } catch (err) {
      // The signal's reason is what the fetch rejects with; a timer's reason is an ExchangeTimeout already.
      throw call.timedOut() ? call.signal.reason : err;
    } finally {
      // A stream still follows the caller's signal; only its timer stops.
      if (streaming) call.stopTimer();
      else call.release();
    }
  };
}
