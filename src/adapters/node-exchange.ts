// Upstream exchanges (src/exchange.ts) over undici's connection pools, below its fetch: the Node adapter's transport
// for pass-through and the lean chat calls, and what its fetch for the openai SDK is built on
// (src/adapters/node-fetch.ts).
//
// Why undici's dispatcher and not node:http: it has no request or response objects, no per-call event emitters and
// a faster parser. A bare proxy forwarding over it used 0.147 ms of CPU per request against 0.17-0.21 ms over a
// node:http agent (bench/README.md), and verdict makes 8 or more upstream calls per best-of-4.
//
// A JSON or failed answer is read into one Buffer before the exchange resolves; any other body is handed over as
// chunks, read only when the caller reads. Failures look as they do with fetch: the caller's abort rejects with the
// signal's reason, a refused or broken connection with `TypeError("fetch failed")` carrying the cause; the exchange's
// own time limit with ExchangeTimeout.
import { pipeline, Readable, type Transform } from "node:stream";
import type { ReadableStream as NodeWebStream } from "node:stream/web";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { Dispatcher } from "undici";
// The pool alone, not the package's index (src/adapters/undici-agent.d.ts says why).
import Agent from "undici/lib/dispatcher/agent.js";
import { ProxyError } from "../errors";
import { answerTooLarge, comesWhole, ExchangeTimeout, overLimit, wholeLimit, NULL_BODY_STATUS, type Exchange, type ExchangeReply, type ExchangeRequest } from "../exchange";
import { unwatchAbort, watchAbort } from "../util/abort-watch";
import { iteratorOf } from "../util/body-chunks";
import { arrivesDecoded, codingsOf } from "../util/content-coding";
import { readAll } from "../util/read-all";

export interface NodeExchangeOptions {
  /** Connections kept per upstream origin; beyond it, requests wait for a free one inside the pool. */
  maxSockets?: number;
}

/** Request bodies sent here: text, bytes and web streams (what verdict and the openai SDK produce). */
export function sendable(body: unknown): body is ExchangeRequest["body"] {
  return body === undefined || body === null || typeof body === "string" || body instanceof Uint8Array || body instanceof ReadableStream;
}

/** Names lower-cased; a repeated field joined as Headers would join it, with Set-Cookie also kept apart. */
function replyHeaders(raw: Buffer[]): Pick<ExchangeReply, "headers" | "cookies"> {
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString("latin1").toLowerCase();
    const value = raw[i + 1]!.toString("latin1");
    const before = headers[name];
    headers[name] = before === undefined ? value : `${before}, ${value}`;
    if (name === "set-cookie") (cookies ??= []).push(value);
  }
  return cookies !== undefined && cookies.length > 1 ? { headers, cookies } : { headers };
}

/**
 * The body as sent, decoded when the server compressed it (only when the caller asked, via accept-encoding), codings
 * undone last first. Joined with pipeline, not pipe, so that a connection lost mid-body errors the decoded stream
 * instead of leaving it open. A coding this client does not know leaves the bytes as sent, as fetch does.
 */
function decoded(message: Readable, coding: string | undefined): Readable {
  if (coding === undefined || !arrivesDecoded(coding)) return message;
  const decoders = codingsOf(coding).reverse().map(decoderFor);
  if (decoders.length === 0) return message;
  return pipeline([message, ...decoders], () => undefined) as unknown as Readable;
}

/** The decoder of one of the codings src/util/content-coding.ts says arrive decoded. */
function decoderFor(coding: string): Transform {
  if (coding === "gzip" || coding === "x-gzip") return createGunzip();
  if (coding === "deflate") return createInflate();
  return createBrotliDecompress();
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

/** Where a URL's requests go: undici takes the origin and the path apart. */
interface Target {
  origin: string;
  path: string;
}

/**
 * The parsed form of each URL verdict calls, kept: it calls the same few over and over (the upstreams' chat and models
 * paths), and parsing one was about 2% of a pass-through's CPU. URLs with a query string are the clients' (other
 * pass-through routes) and are parsed each time, so clients cannot fill it.
 */
function targetCache(limit = 64): (href: string) => Target | URL {
  const known = new Map<string, Target>();
  return (href) => {
    const found = known.get(href);
    if (found !== undefined) return found;
    const url = new URL(href);
    if (url.protocol !== "http:" && url.protocol !== "https:") return url;
    const target = { origin: url.origin, path: `${url.pathname}${url.search}` };
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

/**
 * Request headers undici refuses (it frames each message itself and throws on these): all are about the connection
 * to the next hop, not the request, so they are dropped. A body of unknown length goes chunked. With Expect gone, an
 * upstream has no reason to send 100 Continue; one that does anyway gets no answer (undici ends the connection there,
 * where node:http skipped it; see onError).
 */
const FRAMING_HEADERS = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "expect"]);

function sendableHeaders(headers: Record<string, string>): Record<string, string> {
  for (const name in headers) {
    if (FRAMING_HEADERS.has(name)) return Object.fromEntries(Object.entries(headers).filter(([key]) => !FRAMING_HEADERS.has(key)));
  }
  return headers;
}

/** How an answer's body is taken in, decided by its headers. */
type Intake = "none" | "whole" | "stream";

/**
 * One upstream call, as the handler undici's dispatcher calls back (its plain callback interface: onConnect,
 * onHeaders, onData, onComplete, onError). It settles the exchange's promise once, keeps the time limit, follows the
 * caller's signal, and lets go of the connection when the call ends early.
 */
class UpstreamCall {
  private settled = false;
  /** Why the call was ended from this side (abort, time limit, body not wanted); undici's echo of it is ignored. */
  private ended: Error | null = null;
  private abortConnection: ((reason: Error) => void) | null = null;
  private resume: (() => void) | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private intake: Intake = "none";
  private status = 0;
  private head: Pick<ExchangeReply, "headers" | "cookies"> = { headers: {} };
  private chunks: Buffer[] = [];
  private length = 0;
  private limit = Infinity;
  /** The body handed over as a stream (or to be decoded), once the headers said so. */
  private source: Readable | null = null;
  /** The body's end is in (the stream may still be unread). */
  private complete = false;
  /**
   * The request body as undici sends it: a web stream becomes a Node stream, which undici destroys when the call ends
   * early, listened to from the start (undici adds its own listener only once it takes the request out of its queue):
   * a client that drops mid-upload fails this call.
   */
  readonly body: string | Uint8Array | Readable | null | undefined;
  private readonly onAbort = () => this.end(this.request.signal!.reason as Error);

  constructor(
    private readonly request: ExchangeRequest,
    private readonly resolve: (reply: ExchangeReply) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    const body = request.body;
    this.body = body instanceof ReadableStream ? Readable.fromWeb(body as NodeWebStream) : body;
    if (this.body instanceof Readable) this.body.once("error", (err) => this.end(new TypeError("fetch failed", { cause: err })));
    if (request.signal) watchAbort(request.signal, this.onAbort);
    if (request.timeoutMs !== undefined) {
      this.timer = setTimeout(() => this.end(new ExchangeTimeout("upstream call timed out")), request.timeoutMs);
    }
  }

  onConnect(abort: (reason: Error) => void): void {
    // Ended while it waited for a connection. Throwing (rather than calling abort, which would destroy the connection
    // undici just picked for it) makes undici drop the request and keep the connection for the next one.
    if (this.ended !== null) throw this.ended;
    this.abortConnection = abort;
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (status < 200) return true; // an interim answer (100 Continue, 103 Early Hints); the real one follows
    if (status > 599) {
      // Not an answer a client can be given (fetch refuses it too): a broken upstream.
      this.end(new TypeError("fetch failed", { cause: new RangeError(`upstream answered status ${status}`) }));
      return false;
    }
    this.status = status;
    this.head = replyHeaders(rawHeaders);
    this.resume = resume;
    if (NULL_BODY_STATUS.has(status) || this.request.method === "HEAD") {
      this.answer({ status, ...this.head, body: null });
      return true; // whatever comes is read and dropped, so the connection can be reused
    }
    const whole = comesWhole(status, this.head.headers["content-type"], this.request.whole);
    const coding = this.head.headers["content-encoding"];
    if (whole && coding === undefined) {
      // A JSON answer is of no use until complete, nor is an error page; holding it here costs no latency and saves
      // a stream.
      this.intake = "whole";
      this.limit = wholeLimit(status);
      return true;
    }
    this.intake = "stream";
    const source = (this.source = new Readable({
      read: () => this.resume?.(),
      destroy: (err, callback) => {
        // Stopped before its end (a reader that left, a body cut at its limit): the connection goes with it.
        if (this.intake === "stream" && !this.complete) this.release(err ?? new Error("the answer's body was not read to its end"));
        callback(err);
      },
    }));
    // Its failure reaches whoever reads it (the iterator sees `errored`, a pipeline its own listener); until someone
    // does, an 'error' with no listener would be an uncaught exception.
    source.on("error", () => undefined);
    const body = decoded(source, coding);
    if (whole) {
      // A successful answer that reaches the limit is no answer: failed there, without joining what was read.
      const limit = wholeLimit(status);
      readAll(body, limit, overLimit(status, limit) ? answerTooLarge : undefined).then(
        (bytes) => this.answer({ status, ...this.head, body: bytes }),
        (err) => this.fail(err instanceof ProxyError ? err : new TypeError("fetch failed", { cause: err })),
      );
    } else {
      body.once("close", this.done);
      this.answer({ status, ...this.head, body: chunksOf(body) });
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.intake === "stream") return this.source!.push(chunk);
    if (this.intake !== "whole") return true;
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length < this.limit) return true;
    // Enough of a failed answer: the rest is never read, and the connection is dropped. A successful one this large is
    // no answer at all.
    if (overLimit(this.status, this.length)) this.fail(answerTooLarge());
    else this.answer({ status: this.status, ...this.head, body: this.joined().subarray(0, this.limit) });
    this.release(new Error("the rest of the answer is not read"));
    return false;
  }

  onComplete(): void {
    if (this.intake === "stream") {
      this.complete = true; // its end is in: nothing to let go of when the stream closes
      this.source!.push(null);
    } else if (this.intake === "whole") {
      this.answer({ status: this.status, ...this.head, body: this.joined() });
    }
  }

  onError(err: Error): void {
    if (this.ended !== null) return; // the echo of an end of this side's
    // undici ends a connection on a 100 Continue nobody asked for ("bad response" is its word for that alone): the
    // upstream was reached and answered 100, which callers refuse as no answer, as they do where fetch hands it back.
    if (this.status === 0 && (err as { code?: unknown }).code === "UND_ERR_SOCKET" && err.message === "bad response") {
      return this.answer({ status: 100, headers: {}, body: null });
    }
    if (this.source !== null && this.intake === "stream" && !this.complete) {
      // The connection broke in the middle of the body: its reader sees the failure, as with fetch.
      this.intake = "none";
      this.source.destroy(new TypeError("terminated", { cause: err }));
    }
    this.fail(new TypeError("fetch failed", { cause: err }));
  }

  private joined(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
  }

  private readonly done = () => {
    if (this.request.signal) unwatchAbort(this.request.signal, this.onAbort);
  };

  private answer(reply: ExchangeReply): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.settled) return;
    this.settled = true;
    if (reply.body === null || reply.body instanceof Uint8Array) this.done();
    this.resolve(reply);
  }

  private fail(err: unknown): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.done();
    if (this.settled) return;
    this.settled = true;
    this.reject(err);
  }

  /** Ends the call from this side, failing it with `reason` if it has no answer yet. */
  private end(reason: Error): void {
    this.release(reason);
    this.fail(reason);
  }

  /**
   * Drops the connection: a body being streamed ends with the same reason, as with fetch (callers tell an abort from
   * a failure by it).
   */
  private release(reason: Error): void {
    if (this.ended !== null) return;
    this.ended = reason;
    if (this.intake === "stream") {
      this.intake = "none";
      this.source!.destroy(reason);
    }
    if (this.abortConnection !== null) this.abortConnection(reason);
    else if (this.body instanceof Readable) this.body.destroy(); // still waiting for a connection: let go of the upload now
  }
}

export function createNodeExchange(options: NodeExchangeOptions = {}): Exchange {
  // Idle connections are closed after 4 s (sooner when the server's Keep-Alive header says so): reusing one the server
  // is just closing fails the request. Common servers keep idle connections 5 s. undici's own header and body time
  // limits are off: each call has verdict's, and a stream may run as long as its client stays.
  const agent = new Agent({
    connections: options.maxSockets ?? 256,
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 4_000,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const targetOf = targetCache();

  return (request) => {
    if (request.signal?.aborted) return Promise.reject(request.signal.reason);
    const target = targetOf(request.url);
    if (target instanceof URL) return Promise.reject(new TypeError("fetch failed", { cause: new Error(`unsupported protocol ${target.protocol}`) }));
    return new Promise<ExchangeReply>((resolve, reject) => {
      const call = new UpstreamCall(request, resolve, reject);
      const { origin, path } = target;
      const headers = sendableHeaders(request.headers);
      agent.dispatch({ origin, path, method: request.method, headers, body: call.body }, call as unknown as Dispatcher.DispatchHandler);
    });
  };
}
