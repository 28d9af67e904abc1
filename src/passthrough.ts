// Forwards a request to the generator as it is: method, headers minus hop-by-hop ones, body and streams unchanged.
import { ProxyError } from "./errors";
import { guardEventStream } from "./sse-guard";
import type { FetchLike } from "./upstream";

const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding",
  "upgrade", "host", "content-length",
]);

/** Request headers never sent upstream: verdict's own, the client's key (the upstream's comes from config). */
function forwardable(name: string): boolean {
  return !HOP_BY_HOP.has(name) && name !== "authorization" && name !== "accept-encoding" && !name.startsWith("x-verdict-");
}

export interface PassThroughTarget {
  baseURL: string;
  apiKey?: string | undefined;
  /** Time allowed until the upstream's headers arrive; a stream may then run as long as it needs. */
  timeoutMs: number;
  fetch: FetchLike;
}

export async function passThrough(
  target: PassThroughTarget,
  request: Request,
  path: string,
  body?: BodyInit | null,
  /** verdict's own per-request headers (x-request-id, traceparent): they replace the client's. */
  extraHeaders: Record<string, string> = {},
): Promise<Response> {
  const headers = new Headers();
  request.headers.forEach((value, name) => forwardable(name) && headers.set(name, value));
  for (const [name, value] of Object.entries(extraHeaders)) headers.set(name, value);
  if (target.apiKey) headers.set("authorization", `Bearer ${target.apiKey}`);
  const url = new URL(request.url);
  const controller = new AbortController();
  const onClientGone = () => controller.abort();
  request.signal.addEventListener("abort", onClientGone, { once: true });
  const timer = setTimeout(() => controller.abort(new Error("timeout")), target.timeoutMs);
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  let upstream: Response;
  try {
    upstream = await target.fetch(`${target.baseURL}${path}${url.search}`, {
      method: request.method,
      headers,
      body: hasBody ? (body !== undefined ? body : request.body) : undefined,
      signal: controller.signal,
      ...(hasBody && body === undefined ? { duplex: "half" } : {}),
    } as RequestInit);
  } catch (err) {
    request.signal.removeEventListener("abort", onClientGone);
    if (request.signal.aborted) throw new ProxyError(499, "request cancelled", { code: "cancelled" });
    if (err instanceof ProxyError) throw err; // already says what went wrong (retries exhausted, bad body)
    const timedOut = controller.signal.aborted;
    throw new ProxyError(timedOut ? 504 : 502, timedOut ? "generator upstream timed out" : "generator upstream unreachable", {
      type: timedOut ? "timeout_error" : "upstream_error",
      code: timedOut ? "generator_timeout" : "generator_unreachable",
    });
  } finally {
    clearTimeout(timer);
  }
  const responseHeaders = new Headers();
  // fetch has already decoded the body, so the upstream's encoding and length no longer describe it.
  upstream.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name) && name !== "content-encoding") responseHeaders.set(name, value);
  });
  const isStream = /^text\/event-stream/i.test(upstream.headers.get("content-type") ?? "");
  const relayed = isStream && upstream.body ? guardEventStream(upstream.body) : upstream.body;
  return new Response(relayed, { status: upstream.status, statusText: upstream.statusText, headers: responseHeaders });
}
