// The request body limit for /v1/*, decided from Content-Length when the client sent one.
//
// Why not hono's bodyLimit alone: it first reads `c.req.raw.body`, and on Node that turns @hono/node-server's
// lightweight request into a full fetch Request with a web stream for every call, about a tenth of a pass-through
// request's CPU. A declared length is exact (the HTTP parser never delivers more bytes than it), so it is enough to
// decide; only bodies without one (chunked) are counted as they are read, by hono's middleware.
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ProxyError } from "./errors";

export function requestBodyLimit(maxBytes: number): MiddlewareHandler {
  const tooLarge = () => {
    throw new ProxyError(413, `request body is larger than ${maxBytes} bytes`, { code: "body_too_large" });
  };
  const counting = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async function requestBodyLimitMiddleware(c, next) {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD") return next();
    const declared = c.req.header("content-length");
    if (declared === undefined || c.req.header("transfer-encoding") !== undefined) return counting(c, next);
    if (Number(declared) > maxBytes) tooLarge();
    return next();
  };
}
