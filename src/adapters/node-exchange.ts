// Upstream exchanges (src/exchange.ts) straight over node:http(s), with keep-alive agents: the Node adapter's transport
// for pass-through and the lean chat calls, and what its fetch for the openai SDK is built on
// (src/adapters/node-fetch.ts).
//
// A JSON or failed answer is read into one Buffer before the exchange resolves; any other body is handed over as
// chunks, read only when the caller reads. Failures look as they do with fetch: the caller's abort rejects with the
// signal's reason, a refused or broken connection with `TypeError("fetch failed")` carrying the cause; the exchange's
// own time limit with ExchangeTimeout.
import http from "node:http";
import https from "node:https";
import { pipeline, Readable, type Transform } from "node:stream";
import type { ReadableStream as NodeWebStream } from "node:stream/web";
import { urlToHttpOptions } from "node:url";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { comesWhole, ExchangeTimeout, wholeLimit, NULL_BODY_STATUS, type Exchange, type ExchangeReply, type ExchangeRequest } from "../exchange";
import { iteratorOf } from "../util/body-chunks";
import { readAll } from "../util/read-all";

export interface NodeExchangeOptions {
  /** Sockets kept per upstream host; beyond it, requests wait for a free socket inside the agent. */
  maxSockets?: number;
}

/** Request bodies sent here: text, bytes and web streams (what verdict and the openai SDK produce). */
export function sendable(body: unknown): body is ExchangeRequest["body"] {
  return body === undefined || body === null || typeof body === "string" || body instanceof Uint8Array || body instanceof ReadableStream;
}

/** Names lower-cased; a repeated field joined as Headers would join it, with Set-Cookie also kept apart. */
function replyHeaders(raw: string[]): Pick<ExchangeReply, "headers" | "cookies"> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const before = headers[name];
    headers[name] = before === undefined ? value : `${before}, ${value}`;
  }
  const cookies = headers["set-cookie"] === undefined ? [] : raw.filter((value, i) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === "set-cookie");
  return cookies.length > 1 ? { headers, cookies } : { headers };
}

/**
 * The body as sent, decoded when the server compressed it (only when the caller asked, via accept-encoding), codings
 * undone last first. Joined with pipeline, not pipe, so that a connection lost mid-body errors the decoded stream
 * instead of leaving it open. A coding this client does not know leaves the bytes as sent, as fetch does.
 */
function decoded(message: http.IncomingMessage): Readable {
  const coding = message.headers["content-encoding"];
  if (coding === undefined) return message;
  const codings = coding.toLowerCase().split(",").map((c) => c.trim()).filter((c) => c && c !== "identity");
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

/**
 * A body's chunks, read once. Stopping early destroys the stream, which lets go of the connection, even before the
 * first read: Node's own iterator does nothing when ended before it has started. Nothing is read ahead, so a body
 * that is neither read nor stopped holds its connection until the upstream ends it, as with fetch: read or stop.
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

interface Target {
  url: URL;
  /** What node:http needs of the URL, worked out once. */
  options: http.RequestOptions;
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
    const url = new URL(href);
    const target = { url, options: urlToHttpOptions(url) };
    if (url.search === "" && href.length <= 1_024) {
      if (known.size >= limit) known.clear();
      known.set(href, target);
    }
    return target;
  };
}

/** Only http and https URLs are exchanged here. */
export function isHttpUrl(href: string): boolean {
  return href.startsWith("http://") || href.startsWith("https://");
}

export function createNodeExchange(options: NodeExchangeOptions = {}): Exchange {
  // Idle sockets are closed after 4 s (sooner when the server's Keep-Alive header says so): reusing one the server is
  // just closing fails the request. Common servers keep idle connections 5 s. In-flight requests are not affected.
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 256, timeout: 4_000 };
  const agents = { "http:": new http.Agent(agentOptions), "https:": new https.Agent(agentOptions) };
  const targetOf = targetCache();

  return ({ url: href, method, headers: given, body, signal, timeoutMs, whole }) => {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const { url, options: urlOptions } = targetOf(href);
    const secure = url.protocol === "https:";
    if (!secure && url.protocol !== "http:") return Promise.reject(new TypeError("fetch failed", { cause: new Error(`unsupported protocol ${url.protocol}`) }));

    return new Promise<ExchangeReply>((resolve, reject) => {
      let headers = given;
      if ((typeof body === "string" || body instanceof Uint8Array) && headers["content-length"] === undefined) {
        headers = { ...headers, "content-length": String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength) };
      }
      // A stream of unknown length is sent chunked whatever the method: for DELETE and OPTIONS Node would otherwise
      // write its bytes with no framing at all, and the upstream would read them as further requests of their own.
      if (body instanceof ReadableStream && headers["content-length"] === undefined) headers = { ...headers, "transfer-encoding": "chunked" };
      const request = (secure ? https : http).request({ ...urlOptions, method, headers, agent: agents[secure ? "https:" : "http:"] });
      let settled = false;
      let streamed: Readable | null = null; // the body, once handed over as chunks
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stopTimer = () => timer !== undefined && clearTimeout(timer);
      const fail = (err: unknown) => {
        stopTimer();
        if (settled) return;
        settled = true;
        reject(err);
      };
      const end = (why: unknown) => {
        // A streamed body ends with the same reason, as with fetch: callers tell an abort from a failure by it.
        streamed?.destroy(why as Error);
        request.destroy(why as Error);
        fail(why);
      };
      const onAbort = () => end(signal!.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      const done = () => signal?.removeEventListener("abort", onAbort);
      if (timeoutMs !== undefined) timer = setTimeout(() => (done(), end(new ExchangeTimeout("upstream call timed out"))), timeoutMs);
      const answer = (reply: ExchangeReply) => {
        stopTimer();
        if (settled) return;
        settled = true;
        resolve(reply);
      };
      request.once("error", (err) => {
        done();
        fail(new TypeError("fetch failed", { cause: err }));
      });
      request.once("response", (message) => {
        const status = message.statusCode ?? 0;
        if (status < 200 || status > 599) {
          // Not an answer a client can be given (fetch refuses it too): a broken upstream.
          message.resume();
          done();
          return fail(new TypeError("fetch failed", { cause: new RangeError(`upstream answered status ${status}`) }));
        }
        const head = replyHeaders(message.rawHeaders);
        if (NULL_BODY_STATUS.has(status) || method === "HEAD") {
          message.resume();
          done();
          return answer({ status, ...head, body: null });
        }
        const stream = decoded(message);
        if (comesWhole(status, head.headers["content-type"], whole)) {
          // A JSON answer is of no use until complete, nor is an error page; holding it here costs no latency and saves
          // a stream.
          readAll(stream, wholeLimit(status)).then(
            (bytes) => (done(), answer({ status, ...head, body: bytes })),
            (err) => (done(), fail(new TypeError("fetch failed", { cause: err }))),
          );
          return;
        }
        streamed = stream;
        stream.once("close", done);
        answer({ status, ...head, body: chunksOf(stream) });
      });
      if (body instanceof ReadableStream) {
        // pipeline, not pipe: a client that drops mid-upload errors the source, which must fail this call (the
        // request is destroyed and rejects above), not go unhandled and take the process down.
        pipeline(Readable.fromWeb(body as NodeWebStream), request, () => undefined);
      } else {
        request.end(body ?? undefined);
      }
    });
  };
}
