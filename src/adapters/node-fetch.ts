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
import { pipeline, Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { FetchLike } from "../upstream";
import { bufferedResponse, JSON_MEDIA_TYPE } from "../util/buffered-response";

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
 * The body as sent, decoded when the server compressed it (only when the caller asked, via accept-encoding). Joined
 * with pipeline, not pipe, so that a connection lost mid-body errors the decoded stream instead of leaving it open.
 */
function decoded(message: http.IncomingMessage): Readable {
  const decoder = decoderFor((message.headers["content-encoding"] ?? "").toLowerCase());
  return decoder ? pipeline(message, decoder, () => undefined) : message;
}

function decoderFor(encoding: string) {
  if (encoding === "gzip" || encoding === "x-gzip") return createGunzip();
  if (encoding === "deflate") return createInflate();
  if (encoding === "br") return createBrotliDecompress();
  return null;
}

function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.once("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    stream.once("error", reject);
  });
}

/** Bodies this client sends itself: text, bytes and web streams (what verdict and the openai SDK produce). */
function sendable(body: unknown): boolean {
  return body === undefined || body === null || typeof body === "string" || body instanceof Uint8Array || body instanceof ReadableStream;
}

export function createNodeFetch(options: NodeFetchOptions = {}): FetchLike {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 256 };
  const agents = { "http:": new http.Agent(agentOptions), "https:": new https.Agent(agentOptions) };
  const fallback = options.fallback ?? globalThis.fetch.bind(globalThis);

  return function nodeFetch(input, init = {}) {
    if (typeof input !== "string" && !(input instanceof URL)) return fallback(input, init); // a Request object: rare here
    const url = typeof input === "string" ? new URL(input) : input;
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
      let settled = false;
      const method = init.method ?? "GET";
      const request = transport.request(url, { method, headers, agent: agents[url.protocol as "http:"] });
      const onAbort = () => {
        request.destroy(signal!.reason);
        if (!settled) {
          settled = true;
          reject(signal!.reason);
        }
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const done = () => signal?.removeEventListener("abort", onAbort);
      request.once("error", (err) => {
        done();
        if (settled) return;
        settled = true;
        reject(new TypeError("fetch failed", { cause: err }));
      });
      request.once("response", (message) => {
        const status = message.statusCode ?? 502;
        const answer = { status, statusText: message.statusMessage ?? "", headers: responseHeaders(message.rawHeaders) };
        if (status === 204 || status === 304 || method === "HEAD") {
          message.resume();
          done();
          settled = true;
          return resolve(new Response(null, answer));
        }
        const stream = decoded(message);
        if (JSON_MEDIA_TYPE.test(message.headers["content-type"] ?? "")) {
          // A JSON answer is of no use until complete; holding it here costs no latency and saves a web stream.
          readAll(stream).then(
            (bytes) => {
              done();
              if (settled) return;
              settled = true;
              resolve(bufferedResponse(bytes, answer, url.href));
            },
            (err) => {
              done();
              if (settled) return;
              settled = true;
              reject(new TypeError("fetch failed", { cause: err }));
            },
          );
          return;
        }
        // Streamed on: an abort after this point ends the body with the signal's reason, as with fetch.
        settled = true;
        stream.once("close", done);
        resolve(new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, answer));
      });
      if (body instanceof ReadableStream) {
        Readable.fromWeb(body as import("node:stream/web").ReadableStream).pipe(request);
      } else {
        request.end(body ?? undefined);
      }
    });
  } as FetchLike;
}
