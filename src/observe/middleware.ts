// Per-request observation: a probe for the handlers, then on the way out the request metric, the request span's end
// and one JSON log line. Scrapes and health checks are kept out of the numbers (they would drown the real traffic).
import type { Context, MiddlewareHandler } from "hono";
import type { Logger } from "../app";
import { ProxyError, toProxyError } from "../errors";
import { arrivalOf } from "../arrival";
import { isJudgeUnavailable } from "../judge/session";
import type { HeaderSource } from "../auth";
import { createRedactor } from "../redact";
import { dropEvent } from "./config";
import { createRequestProbe, loggableCode, noopProbe, type ActiveProbe, type ProbeDeps, type ProbeInit, type ProbeState, type RequestProbe } from "./probe";

interface Settled {
  status: number;
  error?: unknown;
}

declare module "hono" {
  interface ContextVariableMap {
    probe: RequestProbe;
    /** Set by settleLater: the request is counted and logged when this resolves, not when its headers are out. */
    settles?: Promise<Settled>;
  }
}

/**
 * For a response whose outcome is known only after its headers are out (a reranked stream: keep-alives first, then
 * the answer or an error event): its observation waits for the outcome, which the returned function reports.
 */
export function settleLater(c: Context): (status: number, error?: unknown) => void {
  let settle!: (outcome: Settled) => void;
  c.set("settles", new Promise<Settled>((resolve) => (settle = resolve)));
  return (status, error) => settle({ status, error });
}

/** A bounded route label: the raw path would let any client mint new series. */
export function routeLabel(method: string, path: string): string {
  if (path === "/v1/chat/completions") return method === "POST" ? "chat_completions" : "passthrough";
  if (path === "/v1/responses") return method === "POST" ? "responses" : "passthrough";
  if ((path === "/v1/models" || path.startsWith("/v1/models/")) && method === "GET") return "models";
  if (path === "/metrics") return "metrics";
  if (path === "/healthz") return "healthz";
  return path.startsWith("/v1/") ? "passthrough" : "not_found";
}

/**
 * When the request `c` serves began to arrive, as wall-clock time (epoch ms): its time budget counts from there. Taken
 * from its observation, which began before any middleware read the body (or when the Node lane began to read it).
 */
export function arrivedAt(c: Context): number {
  return Date.now() - probeOf(c).elapsed();
}

export function probeOf(c: Context): RequestProbe {
  return c.get("probe") ?? noopProbe;
}

export interface ObserveOptions extends ProbeDeps {
  logger: Logger;
  /** log.content: the prompt and the answer go into the log line; off, they never do. */
  logContent: boolean;
  /**
   * With log.content and forwarded client keys: the key a request brings, which the logger's redactor (built from the
   * configured keys) does not know of.
   */
  contentSecret?: (headers: HeaderSource) => string | undefined;
}

const round = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 10) / 10);

/** The prompt and answer as logged: without the client's own key when it brought one. */
function contentOf({ messages, completion }: ProbeState, secret: string | undefined) {
  if (secret === undefined) return { messages, completion };
  const redact = createRedactor([secret]);
  return JSON.parse(redact(JSON.stringify({ messages, completion }) ?? "{}")) as { messages: unknown; completion: unknown };
}

/**
 * The judge's failure a request went without it for: answered unjudged (failing open), or failed with
 * judge_unavailable (failing closed). Undefined for any other request.
 */
function judgeFailureOf(state: ProbeState, error: unknown): ProxyError | undefined {
  if (state.judge_failure) return state.judge_failure;
  return isJudgeUnavailable(error) ? error : undefined;
}

/**
 * What the judge itself answered, in the log line: judge_unavailable alone would not tell an operator a wrong key
 * (401) from an outage (503) or a slow judge (verdict's 504).
 */
function judgeFields(failure: ProxyError) {
  const own = isJudgeUnavailable(failure) && failure.cause instanceof ProxyError ? failure.cause : failure;
  return { judge_status: own.status, judge_error: failureOf(own) };
}

function logLine(probe: ActiveProbe, start: ProbeInit, status: number, total: number, error: unknown, content: boolean) {
  const { route, method } = start;
  const { state } = probe;
  const judgeFailure = judgeFailureOf(state, error);
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
    // An upstream's failure relayed as it came (a pass-through's 401, the model list's 503) is one too.
    ...(error ? { error: failureOf(error) } : status >= 400 ? { error: "upstream_error" } : {}),
    ...(judgeFailure ? judgeFields(judgeFailure) : {}),
    ...(content ? contentOf(state, start.contentSecret) : {}),
  };
}

/** A request worth counting begins: its probe, and one more in flight. */
export function startObservation(options: ObserveOptions, start: ProbeInit): ActiveProbe {
  const probe = createRequestProbe(options, start);
  options.metrics.inFlight(1);
  return probe;
}

/**
 * Its answer is decided (a passed-through stream: its headers are out; a reranked stream: its work has ended): the
 * request metric, the span's end and the log line.
 */
export function finishObservation(options: ObserveOptions, probe: ActiveProbe, start: ProbeInit, status: number, error: unknown): void {
  const { metrics, logger } = options;
  metrics.inFlight(-1);
  const total = probe.elapsed();
  const strategy = probe.state.strategy ?? (start.route === "chat_completions" || start.route === "responses" ? "unresolved" : "none");
  metrics.request(start.route, strategy, status, total / 1000);
  probe.span.set("http.response.status_code", status);
  if (status >= 500) probe.span.fail(error ? failureOf(error) : `status ${status}`);
  probe.span.end();
  // An answer the judge could not rank is a warning too: failing open hides the judge's outage from the client.
  const level = status >= 500 || probe.state.judge_failure ? "warn" : "info";
  if (logger[level] !== dropEvent) logger[level](logLine(probe, start, status, total, error, options.logContent));
}

export function observeRequests(options: ObserveOptions): MiddlewareHandler {
  return async function observe(c, next) {
    const method = c.req.method;
    const route = routeLabel(method, c.req.path);
    if (route === "metrics" || route === "healthz") {
      await next();
      options.logger.debug?.({ event: "request", request_id: c.get("requestId"), method, route, status: c.res.status });
      return;
    }
    const arrived = arrivalOf(c);
    const start: ProbeInit = {
      requestId: c.get("requestId"),
      method,
      route,
      traceparent: c.req.header("traceparent") ?? null,
      tracestate: c.req.header("tracestate") ?? null,
      ...(arrived === undefined ? {} : { startedAt: arrived }),
      ...(options.contentSecret ? { contentSecret: options.contentSecret(c.req.raw.headers) } : {}),
    };
    const probe = startObservation(options, start);
    c.set("probe", probe);
    try {
      await next();
    } finally {
      // Handlers that return a Response of their own (the pass-through) skip Hono's prepared headers: the id is set
      // here, replacing whatever id the upstream sent, which would mislead anyone matching logs.
      if (c.res.headers.get("x-request-id") !== probe.requestId) c.header("x-request-id", probe.requestId);
      const settles = c.error ? undefined : c.get("settles");
      if (settles) {
        const settled = settles.then(({ status, error }) => finishObservation(options, probe, start, status, error));
        waitUntilOf(c)?.(settled);
      }
      else finishObservation(options, probe, start, c.res.status, c.error);
    }
  };
}

/**
 * The runtime's waitUntil: on Workers, work after the response must be handed to it or it may be cut off. None on Node,
 * which has no such context (Hono throws when asked for one).
 */
export function waitUntilOf(c: Context): ((work: Promise<unknown>) => void) | undefined {
  // Not asked of Hono where there is surely none: its throw, an Error and its stack, twice per reranked request, was
  // about 2% of a best-of-4's instructions through the app (bench:instructions; on Node that is the Responses API's
  // path, chat completions take the lane in src/adapters/node-chat-lane.ts). Node's server hands the app its request
  // and response as env (src/adapters/node.ts), and a bare app.fetch(request) gives no env; neither passes an execution
  // context.
  const env: unknown = c.env;
  if (env === undefined || (typeof env === "object" && env !== null && "outgoing" in env)) return undefined;
  try {
    const execution = c.executionCtx;
    return (work) => execution.waitUntil(work);
  } catch {
    return undefined;
  }
}

/** The error's code, else its type: short, stable and free of content. */
function failureOf(error: unknown): string {
  const proxyError = toProxyError(error);
  return loggableCode(proxyError.code) ?? proxyError.type;
}
