// fetch for upstream calls on Node, over the Node exchange (src/adapters/node-exchange.ts) instead of undici's fetch
// (the exchange uses undici's connection pools, not its fetch layer): what the openai SDK calls (the Root Signals
// judge, streamed sampling, the models list).
//
// Why: profiles of verdict under load put about 40% of its CPU in undici's fetch (request objects, web streams,
// per-call validation). A JSON answer comes as a Response over the Buffer the exchange read; only event streams and
// other non-JSON bodies are exposed as a stream. Callers see an ordinary fetch: same Response, same abort behaviour
// (the promise rejects with the signal's reason), connection failures as `TypeError("fetch failed")` with the cause
// attached, as undici does. Bodies that are neither text, bytes nor a web stream (FormData, Blob) are rare here and go
// to the global fetch.
import type { Exchange, ExchangeReply } from "../exchange";
import type { FetchLike } from "../upstream";
import { chunkStream, keepChunkSource } from "../util/body-chunks";
import { bufferedResponse } from "../util/buffered-response";
import { plainHeaders } from "../util/plain-headers";
import { createNodeExchange, isHttpUrl, sendable } from "./node-exchange";

export interface NodeFetchOptions {
  /** What it sends with: the adapter's own exchange, so both share one pool of connections. */
  exchange?: Exchange;
  /** The fetch used for requests this client does not send itself. */
  fallback?: FetchLike;
}

/** The Node adapter's two ways to call upstreams, over one pool of connections. */
export function createNodeTransport(): { exchange: Exchange; fetch: FetchLike } {
  const exchange = createNodeExchange();
  return { exchange, fetch: createNodeFetch({ exchange }) };
}

function responseHeaders({ headers, cookies }: ExchangeReply): HeadersInit {
  if (cookies === undefined) return headers;
  const all = new Headers();
  for (const name in headers) if (name !== "set-cookie") all.set(name, headers[name]!);
  for (const cookie of cookies) all.append("set-cookie", cookie);
  return all;
}

function notAnAnswer(status: number): Response {
  const error = { message: `upstream answered ${status}, which is not an answer`, type: "upstream_error", code: "upstream_interim_status" };
  return Response.json({ error }, { status: 502, headers: { "x-should-retry": "false" } });
}

export function createNodeFetch(options: NodeFetchOptions = {}): FetchLike {
  const exchange = options.exchange ?? createNodeExchange();
  const fallback = options.fallback ?? globalThis.fetch.bind(globalThis);

  return async function nodeFetch(input, init = {}) {
    if (typeof input !== "string" && !(input instanceof URL)) return fallback(input, init); // a Request object: rare here
    const href = typeof input === "string" ? input : input.href;
    const body = init.body;
    if (!isHttpUrl(href) || !sendable(body)) return fallback(input, init);
    const method = init.method ?? "GET";
    const reply = await exchange({ url: href, method, headers: plainHeaders(init.headers), body, signal: init.signal ?? undefined });
    // An interim status (an unasked 100) is no answer, and no Response can carry one: the SDK gets the 502 it means.
    if (reply.status < 200) return notAnAnswer(reply.status);
    const responseInit = { status: reply.status, headers: responseHeaders(reply) };
    if (reply.body === null) return new Response(null, responseInit);
    // One source for a streamed body, read either through the Response's web stream or straight by a pass-through
    // (src/util/body-chunks.ts); both pull from it only when read, so a body read one way at a time loses no chunk.
    if (!(reply.body instanceof Uint8Array)) return keepChunkSource(new Response(chunkStream(reply.body), responseInit), reply.body);
    return bufferedResponse(reply.body, responseInit, href);
  } as FetchLike;
}
