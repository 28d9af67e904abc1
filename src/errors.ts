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
  /** The failure this one stands for (a judge's 401 behind judge_unavailable): for logs, never for the client. */
  cause?: unknown;
}

export class ProxyError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Record<string, string>;
  readonly upstreamError: unknown;

  constructor(status: number, message: string, init: ProxyErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "ProxyError";
    this.status = status;
    this.type = init.type ?? defaultType(status);
    this.param = init.param ?? null;
    this.code = init.code ?? null;
    this.headers = init.headers ?? {};
    this.upstreamError = init.upstreamError;
  }

  /** This error with `changes` made: every other field, its cause included, carried over as it is. */
  with(changes: Pick<ProxyErrorInit, "param" | "headers">): ProxyError {
    const { type, param, code, headers, upstreamError, cause } = this;
    return new ProxyError(this.status, this.message, { type, param, code, headers, upstreamError, cause, ...changes });
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
 * Statuses verdict retries (and a client's SDK would): a timeout, a conflict, a rate limit, a server's failure. One
 * that verdict retried as far as its policy allows (src/retry.ts, wasRetried) tells the client not to retry it: a
 * client SDK that retried it too would multiply the upstream calls (its 3 attempts times verdict's 3; against a rate
 * limit of a few seconds, 9 calls over 25 s). The openai SDKs honour `x-should-retry: false`, which such a failure
 * carries. With `max_retries: 0`, a failure of verdict's own (a full queue, a budget spent on a slow upload), or an
 * upstream asking for a wait verdict would not start, the client's retry is the only one.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

export const NO_CLIENT_RETRY = { "x-should-retry": "false" } as const;

/** `failure` as the client gets it when verdict retried the call behind it: told not to retry, where that applies. */
export function afterRetries(failure: ProxyError, retried: boolean): ProxyError {
  if (!retried || !isRetryableStatus(failure.status)) return failure;
  return failure.with({ headers: { ...failure.headers, ...NO_CLIENT_RETRY } });
}

/** The body and headers of an error answer, for a Response (the app) or a Node response (the Node chat lane). */
export function errorAnswer(err: ProxyError, extraHeaders: Record<string, string> = {}): { body: string; headers: Record<string, string> } {
  return { body: JSON.stringify(err.toJSON()), headers: { "content-type": "application/json", ...err.headers, ...extraHeaders } };
}

export function errorResponse(err: ProxyError, extraHeaders: Record<string, string> = {}): Response {
  const { body, headers } = errorAnswer(err, extraHeaders);
  return new Response(body, { status: err.status, headers });
}
