// GET /metrics: the Prometheus text exposition, behind an optional bearer token.
import type { Context } from "hono";
import type { AppContext } from "../app";
import { ProxyError } from "../errors";

/** Compares in time independent of where the strings first differ, so the token cannot be guessed byte by byte. */
function sameSecret(given: string, expected: string): boolean {
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= (given.charCodeAt(i) || 0) ^ expected.charCodeAt(i);
  return diff === 0;
}

export function serveMetrics(c: Context, ctx: AppContext): Response {
  const text = ctx.observe.metrics.render();
  if (text === null) throw new ProxyError(404, "metrics are disabled (metrics.enabled)", { code: "not_found" });
  const token = ctx.config.metrics.token;
  if (token !== undefined) {
    const header = c.req.header("authorization") ?? "";
    const given = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? "";
    if (!sameSecret(given, token)) {
      throw new ProxyError(401, "metrics need Authorization: Bearer <metrics.token>", {
        code: "invalid_metrics_token",
        headers: { "www-authenticate": 'Bearer realm="metrics"' },
      });
    }
  }
  return c.body(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" });
}
