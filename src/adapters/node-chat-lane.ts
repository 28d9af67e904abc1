// On Node, chat completions are answered straight from node:http, passed through or reranked, streamed or not, without
// the web Request and Response objects (and, for reranked streams, the web ReadableStream) the Hono app works on.
// Profiled, that machinery (building them, the router, the middleware chain, pumping the answer back) cost more CPU per
// pass-through than all of verdict's own checks, and a tenth of a best-of-4's CPU under load (a sixth of a streamed
// one's); bench/README.md has the figures.
//
// Nothing here is a second copy of a rule: the lane decides with the functions the Hono route uses (proxyKeyCheck,
// checkChatRequest, requestIdFor, forwardToGenerator, reranker, completionBody, rerankedStreamWork and streamWork,
// start/finishObservation, failureOf). Every request it is not sure of goes to the Hono app untouched: other routes,
// chunked or oversized bodies, odd hosts, and clients without the proxy key. A request that checkChatRequest refuses
// is answered here with the same error answer (errorAnswer) and observation as the app gives it, so that a large body
// is not decoded and parsed twice. Once the lane has begun to read a body, it answers the request itself.
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { failureOf, observeOptionsOf, type AppContext } from "../app";
import { proxyKeyCheck, type HeaderSource } from "../auth";
import { generatorFor } from "../byok";
import { declaredLength } from "../body-limit";
import { uploadTimedOut } from "../budget";
import { cancelledError, errorAnswer, type ProxyError } from "../errors";
import { markArrival, wallClockArrival } from "../arrival";
import { bodyText } from "../limits";
import { finishObservation, startObservation, type ObserveOptions } from "../observe/middleware";
import type { ActiveProbe, ProbeInit, RequestProbe } from "../observe/probe";
import { forwardToGenerator, type ClientHeaders, type Forwarded } from "../passthrough";
import { requestIdFor } from "../request-id";
import { completionBody, verdictHeaders } from "../response";
import { checkChatRequest, passThroughBody, reportResolved, rerankedStreamWork, reranker, type CheckedChat } from "../routes/chat";
import { SSE_HEADERS, streamWork } from "../routes/stream";
import { unwatchAbort, watchAbort } from "../util/abort-watch";
import { readAll } from "../util/read-all";
import { withFields } from "../util/with-fields";

const CHAT_PATH = "/v1/chat/completions";
const utf8 = new TextEncoder();
/** Hosts @hono/node-server accepts without parsing a URL (its own pattern); the app judges any other. */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;

type Rerank = ReturnType<typeof reranker>;

/** A repeated field as a Headers object joins it: with ", ", except cookies ("; "). */
const joined = (name: string, values: string[]) => values.join(name === "cookie" ? "; " : ", ");

/**
 * The request's fields by lower-cased name. Node's own `req.headers`, which its server builds for every request anyway,
 * when no field came twice; otherwise each field's every value (`req.headersDistinct`): with a repeated field Node's
 * object keeps only the first of some (User-Agent, Authorization and others), where a Headers object joins them all.
 * Building the second object for every request was about 1.5% of a pass-through's instructions (bench:instructions).
 */
function fieldsOf(req: IncomingMessage): NodeJS.Dict<string | string[]> {
  const fields = req.headers;
  let count = 0;
  for (const _name in fields) count++;
  return count * 2 === req.rawHeaders.length ? fields : req.headersDistinct;
}

/** A field's value as a Headers object gives it; a one-valued Set-Cookie is still an array in `req.headers`. */
const valueOf = (name: string, value: string | string[]) => (typeof value === "string" ? value : joined(name, value));

/** The request's headers as the app would see them. */
export function headerViews(req: IncomingMessage): { source: HeaderSource; client: ClientHeaders } {
  const fields = fieldsOf(req);
  return {
    source: {
      get(name) {
        const value = fields[name];
        return value === undefined ? null : valueOf(name, value);
      },
    },
    client: {
      forEach(visit) {
        for (const name in fields) visit(valueOf(name, fields[name]!), name);
      },
    },
  };
}

const departures = new WeakMap<Socket, AbortSignal>();

/**
 * Aborts when the client's connection closes: a client that leaves closes it, and every request it had in flight
 * ends. One per connection, not one per request: a keep-alive connection carries many requests one after another, and
 * an AbortController and a close listener per request were 7-9% of a pass-through's CPU (bench/README.md). A
 * request's own listeners on it come off when its work ends (its upstream call, its reranking, its stream's work), so
 * none outlive it.
 */
export function departureOf(socket: Socket): AbortSignal {
  let signal = departures.get(socket);
  if (signal === undefined) {
    const controller = new AbortController();
    socket.once("close", () => controller.abort(new Error("client closed the connection")));
    departures.set(socket, (signal = controller.signal));
  }
  return signal;
}

/**
 * Resolves when the socket can take more, or the client has gone. The connection's departure counts as well as the
 * response's close: an answer queued behind an earlier one on the same connection (HTTP/1.1 pipelining) has no socket
 * yet, and Node never closes it when the connection goes.
 */
function drained(res: ServerResponse, client: AbortSignal): Promise<void> {
  return new Promise<void>((resume) => {
    if (client.aborted) return resume();
    const go = () => (res.off("drain", go), res.off("close", go), unwatchAbort(client, go), resume());
    res.on("drain", go).on("close", go);
    watchAbort(client, go);
  });
}

/**
 * Holds the response's writes until the end of the current turn of the event loop, then sends them as one syscall: the
 * headers with the first chunk when it is already at hand, and the last chunk with the end of the body when both come
 * in the same turn. Nothing waits longer than that turn: the first event may be seconds away, and the client should
 * know at once that the stream has begun. Call it before each write.
 */
function turnBatcher(res: ServerResponse): () => void {
  let corked = false;
  return () => {
    if (corked) return;
    corked = true;
    res.cork();
    // end() flushes everything itself; a response that has ended may already be writing the next one's bytes.
    setImmediate(() => (corked = false, res.writableEnded || res.destroyed || res.uncork()));
  };
}

/** Writes chunks to the socket, waiting when it is full; stops (which ends the upstream's stream) if the client leaves. */
async function pump(chunks: AsyncIterable<Uint8Array>, res: ServerResponse, client: AbortSignal): Promise<void> {
  const gone = () => res.destroyed || res.closed || client.aborted;
  const holdTurn = turnBatcher(res);
  holdTurn();
  res.flushHeaders();
  try {
    for await (const chunk of chunks) {
      if (gone()) break;
      holdTurn();
      if (!res.write(chunk)) await drained(res, client);
    }
  } catch {
    res.destroy(); // the stream failed before it could say so in an event: end the response so the client notices
    return;
  }
  if (!gone()) res.end();
}

/** The content type a Response gives a body that came without one. */
const DEFAULT_TYPE = "text/plain; charset=UTF-8";

function write(res: ServerResponse, answer: Forwarded, client: AbortSignal): Promise<void> | void {
  const { status, body } = answer;
  const given: Record<string, string | string[]> = answer.cookies === undefined ? answer.headers : withFields(answer.headers, { "set-cookie": answer.cookies });
  if (body === null) return void res.writeHead(status, given).end();
  const headers = given["content-type"] === undefined ? withFields(given, { "content-type": DEFAULT_TYPE }) : given;
  if (body instanceof Uint8Array) return void res.writeHead(status, withFields(headers, { "content-length": body.byteLength })).end(body);
  res.writeHead(status, headers);
  return pump(body, res, client);
}

/** An OpenAI-shaped error, as the app's errorResponse answers it. */
function writeError(res: ServerResponse, failure: ProxyError, extraHeaders: Record<string, string> = {}): void {
  const { body, headers } = errorAnswer(failure, extraHeaders);
  res.writeHead(failure.status, withFields(headers, { "content-length": Buffer.byteLength(body) })).end(body);
}

/** A request answered with `failure` before any work began: counted and logged as the app counts and logs a refusal. */
export function refuseBeforeWork(observe: ObserveOptions, res: ServerResponse, start: ProbeInit, failure: ProxyError): void {
  const probe = startObservation(observe, start);
  writeError(res, failure, { "x-request-id": start.requestId });
  finishObservation(observe, probe, start, failure.status, failure);
}

/**
 * The proxy-key check a request on Node goes through before its body is read; null without proxy keys or forwarded
 * client keys, when there is nothing to check and no turn is spent checking it.
 */
function keyCheckOf(auth: AppContext["config"]["auth"]): ((headers: HeaderSource) => Promise<void>) | null {
  return auth.keys.length > 0 || auth.forward_client_key ? proxyKeyCheck(auth) : null;
}

/**
 * For the server's checkContinue: a client sending Expect: 100-continue (curl does for bodies over 1 KiB) waits for a
 * go-ahead before it uploads. One without a valid proxy key gets its 401 instead, not a go-ahead to send megabytes
 * that will be refused; the rest go on to `lane`.
 */
export function continueOrRefuse(ctx: AppContext, lane: RequestListener): RequestListener {
  const checkKey = keyCheckOf(ctx.config.auth);
  const limit = ctx.config.server.body_limit_bytes;
  return (req, res) => {
    // A body declared larger than the limit is refused (413) without the go-ahead to send it.
    const tooLarge = (declaredLength(req.headers["content-length"], req.headers["transfer-encoding"]) ?? 0) > limit;
    const goAhead = () => (tooLarge || res.writeContinue(), lane(req, res));
    if (checkKey === null) return void goAhead();
    checkKey(headerViews(req).source).then(goAhead, () => lane(req, res));
  };
}

/** Wraps the Hono app's listener: the chat completions above are answered here, everything else by `app`. */
export function chatCompletionsLane(ctx: AppContext, app: RequestListener): RequestListener {
  const checkKey = keyCheckOf(ctx.config.auth);
  const observe = observeOptionsOf(ctx);
  const limit = ctx.config.server.body_limit_bytes;
  const budgetMs = ctx.config.timeouts.request_ms;

  const startOf = (headers: HeaderSource, startedAt: number): ProbeInit => ({
    requestId: requestIdFor(headers.get("x-request-id")),
    method: "POST",
    route: "chat_completions",
    traceparent: headers.get("traceparent"),
    tracestate: headers.get("tracestate"),
    startedAt,
    ...(observe.contentSecret ? { contentSecret: observe.contentSecret(headers) } : {}),
  });

  /**
   * A body still coming in when the request's budget runs out: the budget's 504, as for any request, and the
   * connection closed (the rest of the upload is never read). Without this a body that never ended held its request
   * until the client gave up.
   */
  function uploadTooSlow(res: ServerResponse, start: ProbeInit): void {
    refuseBeforeWork(observe, res, start, uploadTimedOut(budgetMs));
  }

  /** The client left before anything went upstream: counted and logged as a 499, as the app does, and nothing more. */
  function cancel(res: ServerResponse, start: ProbeInit, checked?: CheckedChat): void {
    const probe = startObservation(observe, start);
    if (checked) reportResolved(probe, checked);
    finishObservation(observe, probe, start, 499, cancelledError());
    res.destroy();
  }

  /** A reranked answer as the app's route gives it: the winning completion as JSON, with verdict's headers. */
  async function reranked(checked: CheckedChat, rerank: Rerank, probe: RequestProbe, client: AbortSignal): Promise<Forwarded> {
    const outcome = await rerank(client);
    const body = utf8.encode(JSON.stringify(completionBody(outcome, checked.request.model)));
    return { status: 200, headers: { "content-type": "application/json", "x-request-id": probe.requestId, ...verdictHeaders(outcome) }, body };
  }

  /**
   * A reranked stream as the app's route streams it, written straight to the response; it is observed (counted,
   * logged) when its work ends. A client that leaves aborts the work through `client`.
   */
  function streamReranked(res: ServerResponse, checked: CheckedChat, rerank: Rerank, start: ProbeInit, probe: ActiveProbe, client: AbortSignal): void {
    const onSettled = (status: number, error?: unknown) => finishObservation(observe, probe, start, status, error);
    const work = rerankedStreamWork(ctx, checked, rerank, { requestId: probe.requestId, client, onSettled });
    // What streamWork returns for a reader that goes away is not needed: the client's leaving aborts `client`, which
    // the work follows.
    streamWork(work, {
      begin: () => void res.writeHead(200, withFields(SSE_HEADERS, work.headers ?? {})),
      send: (text) => void res.write(text),
      end: () => void (res.destroyed || res.end()),
      refuse: (failure) => void (res.destroyed || writeError(res, failure, work.headers)),
    });
  }

  async function answer(req: IncomingMessage, res: ServerResponse, body: Buffer, client: AbortSignal, arrived: number): Promise<void> {
    const headers = headerViews(req);
    const { text: raw, utf8 } = bodyText(body);
    let checked: CheckedChat;
    const start = startOf(headers.source, arrived);
    try {
      checked = checkChatRequest(raw, headers.source, ctx.config, utf8);
    } catch (err) {
      // A refusal is answered here as the app answers it (test/integration/node-chat-lane.test.ts compares the two).
      // Handed to the app, the body was decoded and parsed a second time: a refused body of 3.9 MB cost 152 ms of CPU
      // that way, 73 ms now.
      return refuseBeforeWork(observe, res, start, failureOf(err, start.requestId, ctx.logger));
    }
    const { passThrough } = checked.options;
    // A client that left before the work began starts none.
    if (!passThrough && client.aborted) return cancel(res, start, checked);
    const probe = startObservation(observe, start);
    reportResolved(probe, checked);
    let status: number;
    let error: unknown;
    let relay: Promise<void> | void = undefined;
    try {
      let forwarded: Forwarded;
      if (passThrough) {
        forwarded = await forwardToGenerator(generatorFor(ctx, headers.source).target, {
          method: "POST",
          path: "/chat/completions",
          headers: headers.client,
          body: passThroughBody(raw, checked),
          signal: client,
          arrivedAt: wallClockArrival(arrived, observe.clock()),
        }, probe.headers);
      } else {
        const rerank = reranker(ctx, headers.source, wallClockArrival(arrived, observe.clock()), checked.forward, checked.options, probe);
        if (checked.request.stream === true) return streamReranked(res, checked, rerank, start, probe, client);
        forwarded = await reranked(checked, rerank, probe, client);
      }
      status = forwarded.status;
      relay = write(res, forwarded, client);
    } catch (err) {
      const failure = failureOf(err, start.requestId, ctx.logger, client.aborted);
      error = failure; // what the log line reports, as in the app
      status = failure.status;
      writeError(res, failure, { "x-request-id": start.requestId });
    }
    // As in the app: a request is counted when its answer is decided, a stream when its headers are out (a reranked
    // stream, above, when its work has ended).
    finishObservation(observe, probe, start, status, error);
    await relay;
  }

  return (req, res) => {
    const arrived = observe.clock();
    const host = req.headers.host;
    // The lane reads only a body whose length is stated and within the limit; the app's limit check answers the rest.
    const length = declaredLength(req.headers["content-length"], req.headers["transfer-encoding"]);
    const ours = req.method === "POST" && req.url === CHAT_PATH && host !== undefined && PLAIN_HOST.test(host);
    if (!ours || length === undefined || length > limit) return app(req, res);
    // Followed from the first byte: a client can leave while its key is checked or its body read, too.
    const client = departureOf(req.socket);
    const read = () => {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        uploadTooSlow(res, startOf(headerViews(req).source, arrived));
      }, Math.ceil(budgetMs - (observe.clock() - arrived))); // whole ms: a timer would round a fraction down, firing early
      return readAll(req).then(
        (body) => (clearTimeout(timer), late ? undefined : answer(req, res, body, client, arrived)),
        () => (clearTimeout(timer), late ? undefined : cancel(res, startOf(headerViews(req).source, arrived))), // it broke off its upload
      );
    };
    // The key before the body: a client without one must not make verdict buffer megabytes for it. The app answers the
    // refusal (401, its log line and metrics) without reading the body either.
    const admitted = checkKey ? checkKey(headerViews(req).source).then(read, () => (markArrival(req, arrived), app(req, res))) : read();
    admitted.catch((err: unknown) => {
      // Only a fault in the lane itself lands here (it is logged); the client still gets an answer if none has started.
      const failure = failureOf(err, "", ctx.logger);
      if (res.headersSent) res.destroy();
      else writeError(res, failure);
    });
  };
}
