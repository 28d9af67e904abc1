// A bound on the request bodies a Node server holds at once (server.max_inflight_body_bytes): past it a request is
// refused with 503 and `retry-after` before its body is read, instead of being taken in.
//
// Why: nothing else bounds memory across requests. The upstream queues bound calls, not bytes, and a reranked request
// holds its prompt many times over while it waits (the body, its text, the generator's body, each judge call's in
// flight): 37 best-of-4 requests with prompts of 0.9 MB at once took verdict to 425 MB. A probe of 400 (their prompt
// one word, which the simulator's answers repeat, so each candidate was as long) took it past 3.5 GB in ten seconds,
// none answered; 300 uploads of 3.9 MB held 1.2 GB and, parsed together, kept every other client (health checks
// included) waiting 26 s. With the bound the excess is told at once to come back, as an overloaded upstream tells it:
// with the default, those 37 were admitted of 100 and the rest refused at once; of the 300 uploads, 8.
//
// A request counts from its headers until its answer is out (or its connection gone): the work holds the body that
// long. It counts as long as it says it is (its Content-Length); a body of no stated length counts as the largest one
// accepted (server.body_limit_bytes), which is what it may yet grow to. The config refuses a bound below the body
// limit, so any body the limit admits fits when nothing else is held.
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { observeOptionsOf, type AppContext } from "../app";
import { declaredLength } from "../body-limit";
import { ProxyError } from "../errors";
import { routeLabel } from "../observe/middleware";
import { requestIdFor } from "../request-id";
import { unwatchAbort, watchAbort } from "../util/abort-watch";
import { departureOf, headerViews, refuseBeforeWork } from "./node-chat-lane";

/** The bytes a request may hold while verdict works on it: its declared body, or the largest accepted when undeclared. */
function weightOf(req: IncomingMessage, bodyLimit: number): number {
  if (req.method === "GET" || req.method === "HEAD") return 0;
  const declared = declaredLength(req.headers["content-length"], req.headers["transfer-encoding"]);
  if (declared === undefined) return req.headers["transfer-encoding"] === undefined ? 0 : bodyLimit;
  // One over the body limit is refused (413) without being held; what Node reads of it to drain is thrown away.
  return declared > bodyLimit ? 0 : declared;
}

function serverBusy(bound: number, closing: boolean): ProxyError {
  const message = `verdict holds all the request bodies it may hold at once (server.max_inflight_body_bytes: ${bound} bytes); retry shortly`;
  return new ProxyError(503, message, { type: "server_error", code: "server_busy", headers: { "retry-after": "1", ...(closing ? { connection: "close" } : {}) } });
}

/** The bound, shared by the server's listeners (requests, and those waiting for 100-continue). */
export function bodyAdmission(ctx: AppContext): (next: RequestListener) => RequestListener {
  const bound = ctx.config.server.max_inflight_body_bytes;
  const bodyLimit = ctx.config.server.body_limit_bytes;
  const observe = observeOptionsOf(ctx);
  let held = 0;

  /** Answered here, observed as the app observes a refusal: its metric and its log line. */
  function refuse(req: IncomingMessage, res: ServerResponse): void {
    const headers = headerViews(req).source;
    const method = req.method ?? "GET";
    const route = routeLabel(method, (req.url ?? "/").split("?")[0]!);
    // Its span joins the client's trace, as every other request's does.
    const start = { requestId: requestIdFor(headers.get("x-request-id")), method, route, traceparent: headers.get("traceparent"), tracestate: headers.get("tracestate") };
    // A body that may not end, or that waits for a go-ahead it will not get, is not read to keep the connection.
    const closing = req.headers["transfer-encoding"] !== undefined || /100-continue/i.test(req.headers.expect ?? "");
    refuseBeforeWork(observe, res, start, serverBusy(bound, closing));
  }

  return (next) => (req, res) => {
    let weight = weightOf(req, bodyLimit);
    if (weight === 0) return next(req, res);
    if (held + weight > bound) return refuse(req, res);
    held += weight;
    // Given back when the answer is out, or when the connection goes: an answer queued behind another on the same
    // connection (HTTP/1.1 pipelining) has no socket yet, and Node never closes it when the connection goes, so its
    // bytes would stay counted for good.
    const client = departureOf(req.socket);
    const release = () => {
      if (weight === 0) return;
      held -= weight;
      weight = 0;
      res.off("close", release);
      unwatchAbort(client, release);
    };
    res.on("close", release);
    if (client.aborted) release();
    else watchAbort(client, release);
    next(req, res);
  };
}
