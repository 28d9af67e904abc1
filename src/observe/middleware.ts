// Per-request observation: a probe for the handlers, then on the way out the request metric, the request span's end
// and one JSON log line. Scrapes and health checks are kept out of the numbers (they would drown the real traffic).
import type { Context, MiddlewareHandler } from "hono";
import type { Logger } from "../app";
import { toProxyError } from "../errors";
import { createRequestProbe, noopProbe, type ActiveProbe, type ProbeDeps, type RequestProbe } from "./probe";

declare module "hono" {
  interface ContextVariableMap {
    probe: RequestProbe;
  }
}

/** A bounded route label: the raw path would let any client mint new series. */
export function routeLabel(method: string, path: string): string {
  if (path === "/v1/chat/completions") return method === "POST" ? "chat_completions" : "passthrough";
  if (path === "/v1/models" && method === "GET") return "models";
  if (path === "/metrics") return "metrics";
  if (path === "/healthz") return "healthz";
  return path.startsWith("/v1/") ? "passthrough" : "not_found";
}

export function probeOf(c: Context): RequestProbe {
  return c.get("probe") ?? noopProbe;
}

export interface ObserveOptions extends ProbeDeps {
  logger: Logger;
  /** log.content: the prompt and the answer go into the log line; off, they never do. */
  logContent: boolean;
}

const round = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 10) / 10);

function logLine(probe: ActiveProbe, route: string, method: string, status: number, total: number, error: unknown, content: boolean) {
  const { state } = probe;
  return {
    event: "request",
    request_id: probe.requestId,
    method,
    route,
    status,
    ...(probe.span.context ? { trace_id: probe.span.context.traceId } : {}),
    model: state.model,
    strategy: state.strategy,
    n: state.n,
    candidates: state.candidates,
    winner: state.winner,
    judge_calls: state.judge_calls,
    cache_hits: state.cache_hits,
    total_ms: round(total),
    sampling_ms: round(state.sampling_ms),
    judging_ms: round(state.judging_ms),
    degraded: state.degraded,
    ...(error ? { error: failureOf(error) } : {}),
    ...(content ? { messages: state.messages, completion: state.completion } : {}),
  };
}

export function observeRequests(options: ObserveOptions): MiddlewareHandler {
  const { metrics, logger } = options;
  return async function observe(c, next) {
    const method = c.req.method;
    const route = routeLabel(method, c.req.path);
    if (route === "metrics" || route === "healthz") {
      await next();
      logger.debug?.({ event: "request", request_id: c.get("requestId"), method, route, status: c.res.status });
      return;
    }
    const probe = createRequestProbe(options, {
      requestId: c.get("requestId"),
      method,
      route,
      traceparent: c.req.header("traceparent") ?? null,
      tracestate: c.req.header("tracestate") ?? null,
    });
    c.set("probe", probe);
    metrics.inFlight(1);
    try {
      await next();
    } finally {
      metrics.inFlight(-1);
      // Handlers that return a Response of their own (the pass-through) skip Hono's prepared headers: the id is set
      // here, replacing whatever id the upstream sent, which would mislead anyone matching logs.
      if (c.res.headers.get("x-request-id") !== probe.requestId) c.header("x-request-id", probe.requestId);
      const status = c.res.status;
      const total = probe.elapsed();
      const strategy = probe.state.strategy ?? (route === "chat_completions" ? "unresolved" : "none");
      metrics.request(route, strategy, status, total / 1000);
      probe.span.set("http.response.status_code", status);
      if (status >= 500) probe.span.fail(c.error ? failureOf(c.error) : `status ${status}`);
      probe.span.end();
      const line = logLine(probe, route, method, status, total, c.error, options.logContent);
      if (status >= 500) logger.warn(line);
      else logger.info(line);
    }
  };
}

/** The error's code, else its type: short, stable and free of content. */
function failureOf(error: unknown): string {
  const proxyError = toProxyError(error);
  return proxyError.code ?? proxyError.type;
}
