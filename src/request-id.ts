// Every request's id: the client's own when it is safe to echo in logs and headers, else a new UUID. One rule for the
// Hono app and the Node chat lane (src/adapters/node-chat-lane.ts).
import type { MiddlewareHandler } from "hono";

declare module "hono" {
  interface ContextVariableMap {
    requestId: string;
  }
}

/** 1-128 characters of [A-Za-z0-9_=-]: long enough for any tracing scheme, nothing a log parser could trip on. */
const SAFE_ID = /^[\w=-]{1,128}$/;

export function requestIdFor(clientId: string | null | undefined): string {
  return clientId && SAFE_ID.test(clientId) ? clientId : crypto.randomUUID();
}

/** Sets `requestId` for the handlers and the x-request-id response header. */
export function assignRequestId(): MiddlewareHandler {
  return async function assignRequestIdMiddleware(c, next) {
    const id = requestIdFor(c.req.header("x-request-id"));
    c.set("requestId", id);
    c.header("x-request-id", id);
    await next();
  };
}
