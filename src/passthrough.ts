// Forwards a request to the generator as it is: method, headers minus hop-by-hop ones, body and streams unchanged.
import { afterRetries, cancelledError, ProxyError } from "./errors";
import { wasRetried } from "./retry";
import { guardChunks, guardEvents, responsesCutOff } from "./sse-guard";
import { discard, headersWithCookies, isWhole, type ExchangeReply, type ExchangeRequest } from "./exchange";
import type { BoundedExchange } from "./retry-exchange";
import { chunkStream } from "./util/body-chunks";
import { breakOffOf } from "./util/break-off";
import { arrivesDecoded, codingsOf } from "./util/content-coding";

// `expect`: verdict has the whole body (or streams it) and never waits for a go-ahead; an upstream asked for one answers
// 100 first, which a runtime's fetch (Workers') may hand back as if it were the answer.
const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding",
  "upgrade", "host", "content-length", "expect",
]);

/**
 * Request headers never sent upstream: verdict's own and the client's credentials. The upstream's key comes from
 * config (or, bringing your own key, from the client's Authorization); a key in `api-key` (Azure's SDK), `x-api-key`
 * or a cookie was meant for whoever the client thinks it talks to, and a reranked request never sends one either.
 */
function forwardable(name: string): boolean {
  return !HOP_BY_HOP.has(name) && name !== "authorization" && name !== "accept-encoding" && name !== "cookie"
    && !name.endsWith("api-key") && !name.startsWith("x-verdict-");
}

const EVENT_STREAM = /^text\/event-stream/i;

export interface PassThroughTarget {
  baseURL: string;
  apiKey?: string | undefined;
  /**
   * Keeps the time limits: a retrying exchange (src/retry-exchange.ts) bounds each attempt and the whole call until
   * the upstream's headers. A stream may then run as long as it needs, and ends when the client leaves.
   */
  exchange: BoundedExchange;
  /** An SSE stream that sends nothing for this long is ended with an error event (generator.timeout_ms). */
  streamIdleMs?: number;
  /**
   * With the operator's key: the organization and project its calls are billed to (OPENAI_ORG_ID, OPENAI_PROJECT_ID),
   * sent instead of any the client names, as on verdict's own calls. Absent when the client brings its own key.
   */
  account?: Record<string, string>;
}

/** Which of the operator's organizations and projects a call is billed to: the operator's to say, with its key. */
const ACCOUNT_HEADERS = new Set(["openai-organization", "openai-project"]);

/** The client's headers: a Headers object, or a view over Node's (src/adapters/node-chat-lane.ts). */
export interface ClientHeaders {
  forEach(visit: (value: string, name: string) => void): void;
}

export interface ForwardRequest {
  method: string;
  /** Below the generator's base URL, query string included. */
  path: string;
  headers: ClientHeaders;
  body: ExchangeRequest["body"];
  /** The client's: its leaving ends the call, and a stream once it runs. */
  signal: AbortSignal;
  /** When the client's request began to arrive (epoch ms), for the time budget; now when not known. */
  arrivedAt?: number | undefined;
}

/** The generator's answer as the client gets it; its body is bytes for JSON, chunks as they come for the rest. */
export interface Forwarded {
  status: number;
  headers: Record<string, string>;
  /** Each Set-Cookie apart, when more than one came (`headers` has them joined). */
  cookies?: string[];
  /** Chunks for one reader; SSE comes as whole events. A reader that stops early ends the upstream's stream. */
  body: Uint8Array | AsyncIterable<Uint8Array> | null;
}

/**
 * The request's path below /v1 as the client sent it, still %-encoded. Decoded, `%5c` would turn into a backslash,
 * which URL parsing takes for `/`: `/v1/..%5c..%5cadmin` would reach `/admin` on the generator's host with its key.
 * (`..` and `%2e%2e` segments are resolved when the request's own URL is parsed, before routing.)
 */
export function pathBelowV1(request: Request): string {
  return new URL(request.url).pathname.slice("/v1".length);
}

/** A request as a Response for the Hono app. */
export async function passThrough(
  target: PassThroughTarget,
  request: Request,
  path: string,
  body?: ExchangeRequest["body"],
  /** verdict's own per-request headers (x-request-id, traceparent): they replace the client's. */
  extraHeaders: Record<string, string> = {},
  /** When the client's request began to arrive (epoch ms): its time budget counts from there. */
  arrivedAt?: number,
): Promise<Response> {
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  const answer = await forwardToGenerator(target, {
    method: request.method,
    path: `${path}${new URL(request.url).search}`,
    headers: request.headers,
    body: hasBody ? (body !== undefined ? body : (request.body as ReadableStream<Uint8Array> | null)) : undefined,
    signal: request.signal,
    arrivedAt,
  }, extraHeaders);
  const { status, body: answered } = answer;
  const sent = answered === null || answered instanceof Uint8Array ? answered : chunkStream(answered, breakOffOf(request));
  return new Response(sent as BodyInit | null, { status, headers: headersWithCookies(answer.headers, answer.cookies) });
}

export async function forwardToGenerator(target: PassThroughTarget, request: ForwardRequest, extraHeaders: Record<string, string>): Promise<Forwarded> {
  // A plain object: the exchange takes it as it is, with no Headers object built and validated per request.
  const headers: Record<string, string> = {};
  // When verdict sends a trace context of its own, it replaces the client's whole: the client's tracestate goes only
  // with the client's trace (verdict's headers carry it then), never with a new trace verdict started.
  const ownTrace = extraHeaders.traceparent !== undefined;
  let connection: string | undefined;
  const { account } = target;
  request.headers.forEach((value, name) => {
    if (name === "connection") connection = value;
    else if (forwardable(name) && !(ownTrace && name === "tracestate") && !(account && ACCOUNT_HEADERS.has(name))) headers[name] = value;
  });
  // Headers the client's Connection header names are for this hop alone (RFC 9110, 7.6.1), like Connection itself.
  if (connection !== undefined) for (const name of connection.split(",")) delete headers[name.trim().toLowerCase()];
  for (const [name, value] of Object.entries(extraHeaders)) headers[name.toLowerCase()] = value;
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  if (account) for (const name in account) headers[name] = account[name]!;
  let upstream: ExchangeReply;
  try {
    // The client's own signal: its leaving ends the call, and a stream once it runs.
    upstream = await target.exchange({ url: `${target.baseURL}${request.path}`, method: request.method, headers, body: request.body, signal: request.signal, arrivedAt: request.arrivedAt });
  } catch (err) {
    if (request.signal.aborted) throw cancelledError();
    if (err instanceof ProxyError) throw err; // already says what went wrong (a timeout, a body that is not JSON)
    throw afterRetries(new ProxyError(502, "generator upstream unreachable", { type: "upstream_error", code: "generator_unreachable" }), wasRetried(err));
  }
  // The client left while an answer was waited for (a retry's backoff ends with the last failed answer in hand): it is
  // a cancelled request, not the upstream's 503 or 429 to alert on.
  if (request.signal.aborted) {
    discard(upstream);
    throw cancelledError();
  }
  // An interim status (100, 103) is no answer, and no Response can carry one.
  if (upstream.status < 200) {
    discard(upstream);
    throw new ProxyError(502, `generator upstream answered ${upstream.status}, which is not an answer`, { type: "upstream_error", code: "generator_error" });
  }
  const responseHeaders: Record<string, string> = {};
  // A body the exchange decoded is no longer in the upstream's coding; one in a coding it does not undo still is.
  const encoding = upstream.headers["content-encoding"];
  const decoded = encoding !== undefined && arrivesDecoded(encoding);
  for (const name in upstream.headers) {
    if (!HOP_BY_HOP.has(name) && !(decoded && name === "content-encoding")) responseHeaders[name] = upstream.headers[name]!;
  }
  // As on the way up: what the upstream's Connection header names was for its hop to verdict alone.
  const named = upstream.headers.connection;
  if (named !== undefined) for (const name of named.split(",")) delete responseHeaders[name.trim().toLowerCase()];
  // Set here rather than by the request middleware afterwards, which would have to copy the finished response.
  const requestId = extraHeaders["x-request-id"];
  if (requestId !== undefined) responseHeaders["x-request-id"] = requestId;
  const body = upstream.body;
  // A JSON answer is already whole in memory (the retrying exchange checks it before anyone sees it); handed on as
  // bytes, the server writes it in one go instead of pumping a stream.
  const streamed = body !== null && !isWhole(body);
  const events = EVENT_STREAM.test(upstream.headers["content-type"] ?? "");
  const cutOff = request.path.startsWith("/responses") ? responsesCutOff : undefined;
  const sent = !streamed ? body : events ? guardEvents(body, { cutOff, idleMs: target.streamIdleMs }) : guardChunks(body, target.streamIdleMs);
  // The upstream's length still holds while the bytes are its own: not decoded, not scrubbed of a key (the redacting
  // exchange then drops the length), not re-framed as events are. A download's size and progress, and a HEAD's
  // answer, depend on it; a body cut short is then seen as such.
  const length = upstream.headers["content-length"];
  if (length !== undefined && !events && !(decoded && codingsOf(encoding).length > 0)) responseHeaders["content-length"] = length;
  // Literals rather than spreads of a partial answer: the spread was about 1% of a pass-through's CPU.
  const { status, cookies } = upstream;
  return cookies ? { status, headers: responseHeaders, cookies, body: sent } : { status, headers: responseHeaders, body: sent };
}
