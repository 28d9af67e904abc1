// One error type for everything that leaves the proxy: rendered as OpenAI's {error:{message,type,param,code}}.

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "rate_limit_error"
  | "upstream_error"
  | "judge_error"
  | "guard_error"
  | "timeout_error"
  | "server_error";

export interface ProxyErrorInit {
  type?: ErrorType;
  param?: string | null;
  code?: string | null;
  headers?: Record<string, string>;
  /** The upstream's own error object, passed on when the failure was theirs. */
  upstreamError?: unknown;
}

export class ProxyError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Record<string, string>;
  readonly upstreamError: unknown;

  constructor(status: number, message: string, init: ProxyErrorInit = {}) {
    super(message);
    this.name = "ProxyError";
    this.status = status;
    this.type = init.type ?? defaultType(status);
    this.param = init.param ?? null;
    this.code = init.code ?? null;
    this.headers = init.headers ?? {};
    this.upstreamError = init.upstreamError;
  }

  toJSON(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A field's path as OpenAI names it in `param`: `messages[2].content[0].image_url.url`. */
export function paramOf(path: PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), "");
}

export function badRequest(message: string, param: string | null, code: string | null = null): ProxyError {
  return new ProxyError(400, message, { param, code });
}

/** The client went away: nobody reads the answer, but the log line and metrics say what happened (499, as nginx). */
export function cancelledError(): ProxyError {
  return new ProxyError(499, "request cancelled", { code: "cancelled" });
}

function defaultType(status: number): ErrorType {
  if (status === 401 || status === 403) return "authentication_error";
  if (status === 429) return "rate_limit_error";
  if (status === 504) return "timeout_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** Turns anything thrown into a ProxyError; unknown errors become a 500 without leaking their message. */
export function toProxyError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  return new ProxyError(500, "internal error in verdict", { code: "internal_error" });
}

/**
 * An upstream's failure that verdict has already retried as far as its policy allows (a 5xx, a timeout): a client SDK
 * that retried it too would multiply the upstream calls (its 3 attempts times verdict's 3). The openai SDKs honour
 * `x-should-retry: false`, which such a failure carries. Only one verdict did retry: with `max_retries: 0` or a failure
 * of verdict's own (a budget spent on a slow upload) the client's retry is the only one. A 429 (a full queue, a rate
 * limit), and a 503 that says when to come back (a retry-after longer than verdict waits), stay the client's to retry.
 */
const RETRIED_BY_VERDICT = new Set([500, 502, 503, 504]);

/** Whether an answer of this status and these headers, after verdict's own retries, tells the client not to retry. */
export function retriedEnough(status: number, headers: Record<string, string>): boolean {
  return RETRIED_BY_VERDICT.has(status) && headers["retry-after"] === undefined;
}

export const NO_CLIENT_RETRY = { "x-should-retry": "false" } as const;

/** `failure` as the client gets it when verdict retried the call behind it: told not to retry, where that applies. */
export function afterRetries(failure: ProxyError, retried: boolean): ProxyError {
  if (!retried || !retriedEnough(failure.status, failure.headers)) return failure;
  const { type, param, code, upstreamError } = failure;
  return new ProxyError(failure.status, failure.message, { type, param, code, upstreamError, headers: { ...failure.headers, ...NO_CLIENT_RETRY } });
}

/** The body and headers of an error answer, for a Response (the app) or a Node response (the Node chat lane). */
export function errorAnswer(err: ProxyError, extraHeaders: Record<string, string> = {}): { body: string; headers: Record<string, string> } {
  return { body: JSON.stringify(err.toJSON()), headers: { "content-type": "application/json", ...err.headers, ...extraHeaders } };
}

export function errorResponse(err: ProxyError, extraHeaders: Record<string, string> = {}): Response {
  const { body, headers } = errorAnswer(err, extraHeaders);
  return new Response(body, { status: err.status, headers });
}
