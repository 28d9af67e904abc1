// The request body limit for /v1/*, decided from Content-Length when the client sent one, and a body without one
// (chunked) read within the request's time budget.
//
// Why not hono's bodyLimit: it first reads `c.req.raw.body`, and on Node that turns @hono/node-server's lightweight
// request into a full fetch Request with a web stream for every call, about a tenth of a pass-through request's CPU. A
// declared length is exact (the HTTP parser never delivers more bytes than it), so it is enough to decide; only bodies
// without one are counted as they are read. And hono's reads a chunked body for as long as the client takes: one that
// stops mid-body held its request, its connection and a graceful shutdown for good.
import type { MiddlewareHandler } from "hono";
import { readWithinBudget } from "./budget";
import { ProxyError } from "./errors";
import { bytesUpTo } from "./exchange";
import { arrivedAt } from "./observe/middleware";

/** A body's length when the headers state it for certain: a Content-Length of digits and no Transfer-Encoding. */
export function declaredLength(contentLength: string | undefined, transferEncoding: string | undefined): number | undefined {
  return contentLength !== undefined && transferEncoding === undefined && /^\d+$/.test(contentLength) ? Number(contentLength) : undefined;
}

/**
 * The most of a refused body that is read and thrown away after its 413, so that the client hears it. A connection
 * closed under a client still uploading is reset, and its HTTP client reports the reset (EPIPE), not the 413: one
 * upload of 20 MB in six against the 4 MiB limit on a busy machine, and the openai SDK then sends it all again. On
 * Node, @hono/node-server reads and drops what is left for up to 500 ms and 64 MiB, then closes the connection; a
 * body declared longer than that is refused with the connection closed at once.
 */
export const DRAINED_BODY_LIMIT = 64 * 1024 * 1024;

export function requestBodyLimit(maxBytes: number, budgetMs: number): MiddlewareHandler {
  const tooLarge = (drained: boolean) => {
    // Unless drained (Node reads and drops the rest of a body left unread once the answer is out, on a connection kept
    // alive), the connection closes after the answer rather than take the rest in.
    const headers: Record<string, string> = drained ? {} : { connection: "close" };
    throw new ProxyError(413, `request body is larger than ${maxBytes} bytes`, { code: "body_too_large", headers });
  };
  return async function requestBodyLimitMiddleware(c, next) {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD") return next();
    const declared = declaredLength(c.req.header("content-length"), c.req.header("transfer-encoding"));
    // A client waiting for 100-continue has sent none of it, and is never told to.
    const waiting = /100-continue/i.test(c.req.header("expect") ?? "");
    if (declared !== undefined) return declared > maxBytes ? tooLarge(declared <= DRAINED_BODY_LIMIT && !waiting) : next();
    const body = c.req.raw.body;
    if (body === null) return next();
    // One byte past the limit is enough to know; the rest is never read.
    const bytes = await readWithinBudget(bytesUpTo(body, maxBytes + 1), arrivedAt(c), budgetMs);
    // A body of no stated length could go on for ever: not drained.
    if (bytes.byteLength > maxBytes) tooLarge(false);
    c.req.raw = new Request(c.req.raw, { body: bytes as BodyInit });
    return next();
  };
}
