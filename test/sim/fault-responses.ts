// How the simulator acts out each fault, in-process (app.fetch) and on a real socket (@hono/node-server).
//
// Connection-level faults need the transport: on a real server the socket is destroyed, as a crashed upstream would;
// in-process, where there is no socket, the same event surfaces the way undici reports it, as a rejected fetch
// (reset: `TypeError: fetch failed`, cause ECONNRESET) or a body stream that errors (`TypeError: terminated`).
import type { Context } from "hono";
import type { Socket } from "node:net";
import type { FaultKind, FaultOptions } from "./faults";
import { sleep } from "./timing";

/** Thrown by the handler for a reset; the simulator's onError rethrows it so app.fetch rejects like fetch would. */
export class SimConnectionReset extends TypeError {
  constructor() {
    super("fetch failed", { cause: Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }) });
  }
}

/** The TCP socket under this request when the simulator runs on @hono/node-server, else undefined. */
function socketOf(c: Context): Socket | undefined {
  const env = c.env as { incoming?: { socket?: Socket } } | undefined;
  return env?.incoming?.socket;
}

const STATUS: Partial<Record<FaultKind, number>> = {
  status_429: 429,
  status_429_retry_after: 429,
  status_500: 500,
  status_502: 502,
  status_503: 503,
};

function statusResponse(c: Context, fault: FaultKind, status: number, options: FaultOptions): Response {
  const echoed = options.echo_headers
    ? ` (request headers were: ${[...c.req.raw.headers].map(([k, v]) => `${k}: ${v}`).join("; ")})`
    : "";
  const type = status === 429 ? "rate_limit_error" : "server_error";
  const body = { error: { message: `simulated ${status}${echoed}`, type, param: null, code: `sim_${fault}` } };
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (fault === "status_429_retry_after") {
    headers["retry-after-ms"] = String(options.retry_after_ms);
    headers["retry-after"] = String(Math.ceil(options.retry_after_ms / 1000));
  }
  return new Response(JSON.stringify(body), { status, headers });
}

/**
 * Faults that strike before the answer exists: an error status, a reset, a hang, a slow start. Returns the response
 * to send instead of the answer, or null to go on (after any delay).
 */
export async function beforeAnswer(c: Context, fault: FaultKind | null, options: FaultOptions): Promise<Response | null> {
  if (fault === null) return null;
  const status = STATUS[fault];
  if (status !== undefined) return statusResponse(c, fault, status, options);
  if (fault === "reset") {
    const socket = socketOf(c);
    if (!socket) throw new SimConnectionReset();
    socket.destroy();
    return new Response(null, { status: 499 }); // never delivered: the socket is gone
  }
  if (fault === "hang" || fault === "slow_first_byte") {
    const ms = fault === "hang" ? options.hang_ms : options.slow_first_byte_ms;
    try {
      await sleep(ms, c.req.raw.signal);
    } catch {
      return new Response(null, { status: 499 }); // the caller gave up
    }
  }
  return null;
}

function malformed(): Response {
  const text = '{"id":"chatcmpl-sim-broken","object":"chat.completion","choices":[{"index":0,"message":{"content":"<html>502 Bad Gateway</html>';
  return new Response(text, { status: 200, headers: { "content-type": "application/json" } });
}

/** Sends the first half of the answer's bytes, then drops the connection. */
async function cut(c: Context, answer: Response): Promise<Response> {
  const bytes = new Uint8Array(await answer.arrayBuffer());
  const half = bytes.subarray(0, Math.max(1, Math.floor(bytes.length / 2)));
  const socket = socketOf(c);
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(half);
        if (socket) setTimeout(() => socket.destroy(), 20); // let the half go out first
        return;
      }
      // Erroring only once the half has been read: an errored stream drops chunks still queued.
      if (!socket) controller.error(new TypeError("terminated"));
      else return new Promise<void>(() => undefined); // the socket's end finishes this stream
    },
  });
  const headers = new Headers(answer.headers);
  headers.delete("content-length");
  return new Response(body, { status: answer.status, headers });
}

/** Faults that spoil an answer already made: cut it off, or replace it with something that is not JSON. */
export function spoilAnswer(c: Context, fault: FaultKind | null, answer: Response): Response | Promise<Response> {
  if (fault === "malformed_json") return malformed();
  if (fault === "truncated_json" || fault === "truncated_sse") return cut(c, answer);
  return answer;
}
