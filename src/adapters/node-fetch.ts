// fetch for upstream calls on Node, over node:http(s) with keep-alive agents instead of undici's fetch.
//
// Why: profiles of verdict under load put about 40% of its CPU in undici's fetch (request objects, web streams,
// per-call validation). A JSON answer here is read into one Buffer and handed over as a Response built from it; only
// event streams and other non-JSON bodies are exposed as a stream. The callers (the openai SDK, pass-through, the
// retry and metrics wrappers) see an ordinary fetch: same Response, same abort behaviour (the promise rejects with the
// signal's reason), connection failures as `TypeError("fetch failed")` with the cause attached, as undici does.
// Bodies that are neither text, bytes nor a web stream (FormData, Blob) are rare here and go to the global fetch.
import http from "node:http";
import https from "node:https";
import { pipeline, Readable, type Transform } from "node:stream";
import { urlToHttpOptions } from "node:url";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { FetchLike } from "../upstream";
import { chunkStream, iteratorOf, keepChunkSource } from "../util/body-chunks";
import { bufferedResponse, JSON_MEDIA_TYPE } from "../util/buffered-response";
import { readAll } from "../util/read-all";

export interface NodeFetchOptions {
  /** Sockets kept per upstream host; beyond it, requests wait for a free socket inside the agent. */
  maxSockets?: number;
  /** The fetch used for bodies this client does not send itself. */
  fallback?: FetchLike;
}

function plainHeaders(headers: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  if (headers instanceof Headers || Array.isArray(headers)) {
    for (const [name, value] of headers instanceof Headers ? headers : headers) out[name.toLowerCase()] = value;
    return out;
  }
  for (const name of Object.keys(headers)) {
    const value = (headers as Record<string, string | undefined>)[name];
    if (value !== undefined) out[name.toLowerCase()] = String(value);
  }
  return out;
}

function responseHeaders(raw: string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return headers;
}

/**
 * The body as sent, decoded when the server compressed it (only when the caller asked, via accept-encoding), codings
 * undone last first. Joined with pipeline, not pipe, so that a connection lost mid-body errors the decoded stream
 * instead of leaving it open. A coding this client does not know leaves the bytes as sent, as fetch does.
 */
function decoded(message: http.IncomingMessage): Readable {
  const codings = (message.headers["content-encoding"] ?? "").toLowerCase().split(",").map((c) => c.trim()).filter((c) => c && c !== "identity");
  const decoders = codings.reverse().map(decoderFor);
  if (decoders.length === 0 || decoders.includes(null)) return message;
  return pipeline([message, ...(decoders as Transform[])], () => undefined) as unknown as Readable;
}

function decoderFor(coding: string): Transform | null {
  if (coding === "gzip" || coding === "x-gzip") return createGunzip();
  if (coding === "deflate") return createInflate();
  if (coding === "br") return createBrotliDecompress();
  return null;
}

/** Bodies this client sends itself: text, bytes and web streams (what verdict and the openai SDK produce). */
function sendable(body: unknown): boolean {
  return body === undefined || body === null || typeof body === "string" || body instanceof Uint8Array || body instanceof ReadableStream;
}

/**
 * A body's chunks, read once. Stopping early destroys the stream, which lets go of the connection, even before the
 * first read: Node's own iterator does nothing when ended before it has started. Nothing is read ahead, so a body
 * that is neither read nor cancelled holds its connection until the upstream ends it, as with fetch: read or cancel.
 */
function chunksOf(stream: Readable): AsyncIterableIterator<Uint8Array> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  return iteratorOf(
    () => iterator.next(),
    async () => {
      stream.destroy();
      await iterator.return?.(); // lets Node's iterator drop its listeners, when it had started
    },
  );
}

/** Statuses whose responses have no body (a Response refuses one). */
const NULL_BODY_STATUS = new Set([204, 205, 304]);

interface Target {
  url: URL;
  /** What node:http needs of the URL, worked out once. */
  options: http.RequestOptions;
}

function targetOf(url: URL): Target {
  return { url, options: urlToHttpOptions(url) };
}

/**
 * The parsed form of each URL verdict calls, kept: it calls the same few over and over (the upstreams' chat and models
 * paths), and parsing one, then turning it into request options, was about 2% of a pass-through's CPU. URLs with a
 * query string are the clients' (other pass-through routes) and are parsed each time, so clients cannot fill it.
 */
function targetCache(limit = 64): (href: string) => Target {
  const known = new Map<string, Target>();
  return (href) => {
    const found = known.get(href);
    if (found !== undefined) return found;
    const target = targetOf(new URL(href));
    if (target.url.search === "" && href.length <= 1_024) {
      if (known.size >= limit) known.clear();
      known.set(href, target);
    }
    return target;
  };
}

export function createNodeFetch(options: NodeFetchOptions = {}): FetchLike {
  // Idle sockets are closed after 4 s (sooner when the server's Keep-Alive header says so): reusing one the server is
  // just closing fails the request. Common servers keep idle connections 5 s. In-flight requests are not affected.
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 256, timeout: 4_000 };
  const agents = { "http:": new http.Agent(agentOptions), "https:": new https.Agent(agentOptions) };
  const fallback = options.fallback ?? globalThis.fetch.bind(globalThis);
  const cachedTarget = targetCache();

  return function nodeFetch(input, init = {}) {
    if (typeof input !== "string" && !(input instanceof URL)) return fallback(input, init); // a Request object: rare here
    const { url, options: urlOptions } = typeof input === "string" ? cachedTarget(input) : targetOf(input);
    const body = init.body as string | Uint8Array | ReadableStream | null | undefined;
    if ((url.protocol !== "http:" && url.protocol !== "https:") || !sendable(body)) return fallback(input, init);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(signal.reason);

    return new Promise<Response>((resolve, reject) => {
      const transport = url.protocol === "https:" ? https : http;
      const headers = plainHeaders(init.headers);
      if ((typeof body === "string" || body instanceof Uint8Array) && headers["content-length"] === undefined) {
        headers["content-length"] = String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength);
      }
      // A stream of unknown length is sent chunked whatever the method: for DELETE and OPTIONS Node would otherwise
      // write its bytes with no framing at all, and the upstream would read them as further requests of their own.
      if (body instanceof ReadableStream && headers["content-length"] === undefined) headers["transfer-encoding"] = "chunked";
      const method = init.method ?? "GET";
      const request = transport.request({ ...urlOptions, method, headers, agent: agents[url.protocol as "http:"] });
      let settled = false;
      let streamed: Readable | null = null; // the body, once handed over as a stream
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      const answer = (make: () => Response) => {
        if (settled) return;
        settled = true;
        try {
          resolve(make());
        } catch (err) {
          reject(new TypeError("fetch failed", { cause: err })); // a status or header a Response refuses
        }
      };
      const onAbort = () => {
        // A streamed body ends with the signal's reason, as with fetch: callers tell an abort from a failure by it.
        streamed?.destroy(signal!.reason);
        request.destroy(signal!.reason);
        fail(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const done = () => signal?.removeEventListener("abort", onAbort);
      request.once("error", (err) => {
        done();
        fail(new TypeError("fetch failed", { cause: err }));
      });
      request.once("response", (message) => {
        const status = message.statusCode ?? 0;
        const init = { status, statusText: message.statusMessage ?? "", headers: responseHeaders(message.rawHeaders) };
        if (NULL_BODY_STATUS.has(status) || method === "HEAD" || status < 200 || status > 599) {
          message.resume();
          done();
          // Outside 200-599 the Response constructor throws: the call fails as fetch's does.
          return answer(() => new Response(null, init));
        }
        const stream = decoded(message);
        if (JSON_MEDIA_TYPE.test(message.headers["content-type"] ?? "")) {
          // A JSON answer is of no use until complete; holding it here costs no latency and saves a web stream.
          readAll(stream).then(
            (bytes) => (done(), answer(() => bufferedResponse(bytes, init, url.href))),
            (err) => (done(), fail(new TypeError("fetch failed", { cause: err }))),
          );
          return;
        }
        streamed = stream;
        stream.once("close", done);
        // One source for the body, read either through the Response's web stream or straight by a pass-through
        // (src/util/body-chunks.ts); both pull from it only when read, so a body read one way at a time loses no chunk.
        const chunks = chunksOf(stream);
        answer(() => keepChunkSource(new Response(chunkStream(chunks), init), chunks));
      });
      if (body instanceof ReadableStream) {
        // pipeline, not pipe: a client that drops mid-upload errors the source, which must fail this call (the
        // request is destroyed and rejects above), not go unhandled and take the process down.
        pipeline(Readable.fromWeb(body as import("node:stream/web").ReadableStream), request, () => undefined);
      } else {
        request.end(body ?? undefined);
      }
    });
  } as FetchLike;
}
