// On Node, chat completions that only pass through (n = 1, or strategy "none") are answered straight from node:http,
// without the web Request and Response objects the Hono app works on. Profiled, that machinery (building them, the
// router, the middleware chain, pumping the answer back) cost more CPU per pass-through than all of verdict's own
// checks; see bench/README.md for the figures.
//
// Nothing here is a second copy of a rule: the lane decides with the functions the Hono route uses (proxyKeyCheck,
// checkChatRequest, requestIdFor, forwardToGenerator, start/finishObservation, failureOf). Every request it is not
// sure of goes to the Hono app untouched: other routes, chunked or oversized bodies, odd hosts, and any request that
// those checks refuse, so every refusal is answered by the app's one error path. The body the lane has already read
// is handed over as `rawBody`, where @hono/node-server reads a request's body from when it is set.
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { failureOf, observeOptionsOf, type AppContext } from "../app";
import { proxyKeyCheck, type HeaderSource } from "../auth";
import { generatorFor } from "../byok";
import { finishObservation, startObservation, type RequestStart } from "../observe/middleware";
import { forwardToGenerator, type ClientHeaders, type Forwarded } from "../passthrough";
import { requestIdFor } from "../request-id";
import { checkChatRequest, passThroughBody, reportResolved, type CheckedChat } from "../routes/chat";
import { readAll } from "../util/read-all";

const CHAT_PATH = "/v1/chat/completions";
/** Hosts @hono/node-server accepts without parsing a URL; the app judges any other. */
const PLAIN_HOST = /^[a-z0-9._-]+(?::\d{1,5})?$/;

/** The request's headers as the app would see them: repeated fields joined with ", ", as a Headers object does. */
function headerViews(req: IncomingMessage): { source: HeaderSource; client: ClientHeaders } {
  const distinct = req.headersDistinct;
  return {
    source: { get: (name) => distinct[name]?.join(", ") ?? null },
    client: {
      forEach(visit) {
        for (const name in distinct) visit(distinct[name]!.join(", "), name);
      },
    },
  };
}

/** The body, when the lane may read it: a declared length within the limit. */
function declaredLength(req: IncomingMessage, limit: number): number | undefined {
  const header = req.headers["content-length"];
  if (header === undefined || req.headers["transfer-encoding"] !== undefined || !/^\d+$/.test(header)) return undefined;
  const length = Number(header);
  return length <= limit ? length : undefined;
}

/** Writes a web stream to the socket, waiting when it is full; stops (and cancels the stream) if the client leaves. */
async function pump(body: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> {
  const reader = body.getReader();
  const gone = () => res.destroyed || res.closed;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (gone()) break;
      if (!res.write(value)) await new Promise<void>((resume) => {
        const go = () => (res.off("drain", go), res.off("close", go), resume());
        res.on("drain", go).on("close", go);
      });
    }
  } catch {
    res.destroy(); // the stream failed before it could say so in an event: end the response so the client notices
    return;
  }
  if (gone()) await reader.cancel().catch(() => undefined);
  else res.end();
}

function write(res: ServerResponse, answer: Forwarded): Promise<void> | void {
  const { status, headers, body } = answer;
  if (body === null) return void res.writeHead(status, headers).end();
  if (body instanceof Uint8Array) return void res.writeHead(status, { ...headers, "content-length": body.byteLength }).end(body);
  res.writeHead(status, headers);
  return pump(body, res);
}

/** Wraps the Hono app's listener: pass-through chat completions are answered here, everything else by `app`. */
export function passThroughLane(ctx: AppContext, app: RequestListener): RequestListener {
  const checkKey = proxyKeyCheck(ctx.config.auth);
  const observe = observeOptionsOf(ctx);
  const limit = ctx.config.server.body_limit_bytes;

  async function answer(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body; // for the app, should it take the request over
    const headers = headerViews(req);
    const raw = body.toString("utf8");
    let checked: CheckedChat;
    try {
      await checkKey(headers.source);
      checked = checkChatRequest(raw, headers.source, ctx.config);
    } catch {
      return app(req, res); // the app answers the refusal, with its log line and metrics
    }
    if (!checked.options.passThrough) return app(req, res);

    const start: RequestStart = {
      requestId: requestIdFor(headers.source.get("x-request-id")),
      method: "POST",
      route: "chat_completions",
      traceparent: headers.source.get("traceparent"),
      tracestate: headers.source.get("tracestate"),
    };
    const probe = startObservation(observe, start);
    reportResolved(probe, checked);
    // The client leaving before the answer is out cancels the upstream call, or ends the stream being relayed.
    const client = new AbortController();
    res.once("close", () => res.writableFinished || client.abort(new Error("client closed the connection")));
    let status: number;
    let error: unknown;
    let relay: Promise<void> | void = undefined;
    try {
      const forwarded = await forwardToGenerator(generatorFor(ctx, headers.source).target, {
        method: "POST",
        path: "/chat/completions",
        headers: headers.client,
        body: passThroughBody(raw, checked),
        signal: client.signal,
      }, probe.headers);
      status = forwarded.status;
      relay = write(res, forwarded);
    } catch (err) {
      error = err;
      const failure = failureOf(err, start.requestId, ctx.logger);
      status = failure.status;
      const json = JSON.stringify(failure.toJSON());
      res.writeHead(status, { "content-type": "application/json", ...failure.headers, "x-request-id": start.requestId, "content-length": Buffer.byteLength(json) }).end(json);
    }
    // As in the app: a request is counted when its answer is decided, a stream when its headers are out.
    finishObservation(observe, probe, start, status, error);
    await relay;
  }

  return (req, res) => {
    const host = req.headers.host;
    const length = req.method === "POST" && req.url === CHAT_PATH && host !== undefined && PLAIN_HOST.test(host)
      ? declaredLength(req, limit)
      : undefined;
    if (length === undefined) return app(req, res);
    readAll(req).then(
      (body) => answer(req, res, body),
      () => res.destroy(), // nobody is left to answer
    ).catch((err: unknown) => {
      // Only a fault in the lane itself lands here (it is logged); the client still gets an answer if none has started.
      const failure = failureOf(err, "", ctx.logger);
      if (res.headersSent) res.destroy();
      else res.writeHead(failure.status, { "content-type": "application/json" }).end(JSON.stringify(failure.toJSON()));
    });
  };
}
