// The request body limit for /v1/*, decided from Content-Length when the client sent one.
//
// Why not hono's bodyLimit alone: it first reads `c.req.raw.body`, and on Node that turns @hono/node-server's
// lightweight request into a full fetch Request with a web stream for every call, about a tenth of a pass-through
// request's CPU. A declared length is exact (the HTTP parser never delivers more bytes than it), so it is enough to
// decide; only bodies without one (chunked) are counted as they are read, by hono's middleware.
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ProxyError } from "./errors";

/** A body's length when the headers state it for certain: a Content-Length of digits and no Transfer-Encoding. */
export function declaredLength(contentLength: string | undefined, transferEncoding: string | undefined): number | undefined {
  return contentLength !== undefined && transferEncoding === undefined && /^\d+$/.test(contentLength) ? Number(contentLength) : undefined;
}

export function requestBodyLimit(maxBytes: number): MiddlewareHandler {
  const tooLarge = () => {
    throw new ProxyError(413, `request body is larger than ${maxBytes} bytes`, { code: "body_too_large" });
  };
  const counting = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async function requestBodyLimitMiddleware(c, next) {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD") return next();
    const declared = declaredLength(c.req.header("content-length"), c.req.header("transfer-encoding"));
    if (declared === undefined) return counting(c, next);
    if (declared > maxBytes) tooLarge();
    return next();
  };
}
