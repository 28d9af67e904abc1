// Generator and judge clients: the openai SDK over an injected fetch, with timeouts, retries and a bounded queue.
import OpenAI from "openai";
import { deadlineOf } from "./budget";
import { afterRetries, cancelledError, ProxyError } from "./errors";
import { createChatCall, openAIShaped, type ChatCall } from "./chat-call";
import { exchangeOverFetch, type Exchange } from "./exchange";
import { classifySdkError, retryAfterMs, wasRetried, withRetries, type RetryPolicy } from "./retry";
import { called } from "./util/called";
import { createCallSlots, type CallSlots, type WaitLimit } from "./util/call-slots";
import { childSignal } from "./util/child-signal";

export type FetchLike = typeof globalThis.fetch;

export interface UpstreamSettings {
  base_url: string;
  api_key?: string | undefined;
  timeout_ms: number;
  max_retries: number;
  concurrency: number;
  max_queued: number;
  interval_ms?: number | undefined;
  interval_cap?: number | undefined;
}

export interface Upstream {
  role: "generator" | "judge";
  client: OpenAI;
  /** A non-streaming chat completion without the SDK's per-call overhead (src/chat-call.ts): judgments, candidates. */
  chat: ChatCall;
  baseURL: string;
  /**
   * Runs one call through this upstream's queue; refuses with 429 when too much work is already waiting. The call gets
   * `signal` itself and must leave no listener on it when it ends: the lean chat call removes its own; the openai SDK
   * adds one per call and never removes it, so SDK calls run under withCallSignal (below).
   */
  schedule<T>(call: (signal: AbortSignal | undefined) => Promise<T>, signal?: AbortSignal): Promise<T>;
  /**
   * One attempt through the same queue and rate limit, with no retries of schedule's (a pass-through retries on its
   * own, src/retry-exchange.ts): refused with 429 when too much work is already waiting. `wait` bounds its time in
   * the queue (a pass-through has no request scope whose deadline would end it there).
   */
  admit<T>(call: () => Promise<T>, signal?: AbortSignal, wait?: WaitLimit): Promise<T>;
  readonly pending: number;
  /** The 429 a call would get now because too much work is waiting, or null when it would be taken. */
  refusesNow(): ProxyError | null;
}

/** Backoff shape shared by both upstreams; the retry count is each upstream's own `max_retries`. */
export type Backoff = Omit<RetryPolicy, "maxRetries">;

export const DEFAULT_BACKOFF: Backoff = {
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 20_000,
  random: Math.random,
  now: Date.now,
};

export function createUpstream(
  role: Upstream["role"],
  settings: UpstreamSettings,
  fetchImpl: FetchLike,
  extras: {
    /** How the key is presented; Bearer by default (Root Signals wants `Api-Key <key>`). */
    authorization?: (key: string) => string;
    backoff?: Backoff;
    /** What the lean chat calls send with; by default an exchange over `fetchImpl`. */
    exchange?: Exchange;
  } = {},
): Upstream {
  const baseURL = settings.base_url.replace(/\/+$/, "");
  const key = settings.api_key;
  // One header value for the SDK and the lean chat call alike.
  const authorization = key ? (extras.authorization ?? ((k: string) => `Bearer ${k}`))(key) : undefined;
  const client = new FlatErrorsClient({
    baseURL,
    // The SDK insists on a key; without one configured, the Authorization header is removed instead of inventing one.
    apiKey: key ?? "unset",
    defaultHeaders: { Authorization: authorization ?? null },
    fetch: fetchImpl,
    timeout: settings.timeout_ms,
    // Retries happen in schedule() below (src/retry.ts says why), outside the queue so a backoff holds no slot.
    maxRetries: 0,
  });
  const policy: RetryPolicy = { ...(extras.backoff ?? DEFAULT_BACKOFF), maxRetries: settings.max_retries };
  const refusal = () => queueFull(role, settings);
  const gate = callGate(settings);
  // Not async: a sync throw (the 429) is caught by withRetries' try all the same, and one frame less per call.
  const admit = <T>(call: () => Promise<T>, signal?: AbortSignal, wait?: WaitLimit): Promise<T> => {
    if (gate.full(settings.max_queued)) throw refusal();
    return gate.run(call, signal, wait);
  };
  return {
    role,
    client,
    chat: createChatCall({
      baseURL,
      authorization,
      headers: accountHeaders(client),
      timeoutMs: settings.timeout_ms,
      exchange: extras.exchange ?? exchangeOverFetch(fetchImpl),
    }),
    baseURL,
    get pending() {
      return gate.running + gate.waiting;
    },
    schedule<T>(call: (signal: AbortSignal | undefined) => Promise<T>, signal?: AbortSignal): Promise<T> {
      return withRetries(() => admit(() => call(signal), signal), classifySdkError, policy, signal, deadlineOf(signal));
    },
    admit: (call, signal, wait) => called(() => admit(call, signal, wait), undefined),
    refusesNow: () => (gate.full(settings.max_queued) ? refusal() : null),
  };
}

/** The SDK's client, reading the flat error bodies of other servers (openAIShaped) as the lean calls do. */
class FlatErrorsClient extends OpenAI {
  protected override makeStatusError(status: number, error: object, message: string | undefined, headers: Headers) {
    return super.makeStatusError(status, openAIShaped(error) as object, message, headers);
  }
}

/**
 * verdict's refusal of a call that would wait behind `max_queued` others, to retry after a second, or under a rate
 * limit after its window (nothing more starts before the next one).
 */
function queueFull(role: Upstream["role"], settings: UpstreamSettings): ProxyError {
  const limited = settings.interval_ms && settings.interval_cap;
  const retryAfterS = limited ? Math.max(1, Math.ceil(settings.interval_ms! / 1000)) : 1;
  return new ProxyError(429, `verdict's ${role} queue is full; retry shortly`, { code: "queue_full", headers: { "retry-after": String(retryAfterS) } });
}

/** Where an upstream's calls wait for a slot, and for its rate limit's window when one is set (interval_ms and interval_cap). */
function callGate(settings: UpstreamSettings): CallGate {
  const rate = settings.interval_ms && settings.interval_cap ? { cap: settings.interval_cap, intervalMs: settings.interval_ms } : undefined;
  const slots = createCallSlots(settings.concurrency, rate);
  // Only calls that would have to wait count against the bound: one that can start now always does.
  return Object.assign(slots, { full: (maxQueued: number) => slots.wouldWait() && slots.waiting >= maxQueued });
}

interface CallGate extends CallSlots {
  /** True when a new call must be refused: `maxQueued` calls already wait. */
  full(maxQueued: number): boolean;
}

/** The organization and project the SDK client sends (from OPENAI_ORG_ID and OPENAI_PROJECT_ID), for the lean calls. */
export function accountHeaders(client: OpenAI): Record<string, string> {
  return {
    ...(client.organization ? { "openai-organization": client.organization } : {}),
    ...(client.project ? { "openai-project": client.project } : {}),
  };
}

/**
 * Runs `call` with a child of `parent` that lives only as long as the call: for openai SDK calls, whose abort listener
 * would otherwise stay on the request's signal until the request ends (hundreds of them in a best-of-16).
 */
export function withCallSignal<T>(parent: AbortSignal | undefined, call: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  if (!parent) return call(undefined);
  const child = childSignal(parent);
  return call(child.signal).finally(child.release);
}

/** The upstream's retry-after for the client, in whole seconds also when it only sent OpenAI's retry-after-ms. */
function retryAfterHeader(headers: Headers | undefined): Record<string, string> {
  const seconds = headers?.get("retry-after");
  if (seconds && !headers?.has("retry-after-ms")) return { "retry-after": seconds }; // as sent: seconds or an HTTP date
  // The wait verdict's own retries go by (retry-after-ms first), in whole seconds.
  const ms = retryAfterMs(headers);
  return ms !== undefined ? { "retry-after": String(Math.ceil(ms / 1000)) } : {};
}

/** Maps an SDK failure to the error the client sees, naming which upstream failed and keeping its status. */
export function upstreamFailure(role: Upstream["role"], err: unknown): ProxyError {
  return afterRetries(mappedFailure(role, err), wasRetried(err));
}

function mappedFailure(role: Upstream["role"], err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  if (err instanceof OpenAI.APIUserAbortError) return cancelledError();
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return new ProxyError(504, `${role} upstream timed out`, { type: "timeout_error", code: `${role}_timeout` });
  }
  if (err instanceof OpenAI.APIConnectionError) {
    return new ProxyError(502, `${role} upstream unreachable`, { type: "upstream_error", code: `${role}_unreachable` });
  }
  if (err instanceof OpenAI.APIError && err.status !== undefined && err.status < 400) {
    // A redirect, a 304 or another status that is neither an answer nor an error: the upstream's fault, not the client's.
    return new ProxyError(502, `${role} upstream answered ${err.status}, which is not an answer`, { type: "upstream_error", code: `${role}_error` });
  }
  if (err instanceof OpenAI.APIError && err.status !== undefined) {
    const inner = (err.error ?? {}) as { message?: unknown; param?: unknown; code?: unknown };
    const message = typeof inner.message === "string" ? inner.message : `status ${err.status}`;
    const status = err.status === 500 ? 502 : err.status;
    return new ProxyError(status, `${role} upstream error: ${message}`, {
      type: status >= 500 ? "upstream_error" : status === 429 ? "rate_limit_error" : "invalid_request_error",
      param: typeof inner.param === "string" ? inner.param : null,
      code: typeof inner.code === "string" ? inner.code : `${role}_error`,
      headers: retryAfterHeader(err.headers),
    });
  }
  if ((err as Error)?.name === "AbortError") return cancelledError();
  if (err instanceof SyntaxError) {
    return new ProxyError(502, `${role} upstream returned a body that is not valid JSON`, { type: "upstream_error", code: `${role}_bad_response` });
  }
  return new ProxyError(502, `${role} upstream failed`, { type: "upstream_error", code: `${role}_error` });
}
