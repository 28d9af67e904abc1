// The Node chat lane (src/adapters/node-chat-lane.ts) answers chat completions, passed through or reranked, streamed or
// not, without the Hono app. What clients and operators see must not depend on which of the two answered: the same
// requests go to a server with the lane and to one without, over real sockets on 127.0.0.1, and status, headers, body,
// log line and metrics must match. The lane's own choices are checked too: what it answers itself, and what it hands to
// the app.
import { getRequestListener } from "@hono/node-server";
import { getEventListeners } from "node:events";
import { Agent, createServer, request as httpRequest, type RequestListener, type ServerResponse } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createJsonLogger } from "../../src/adapters/node";
import { createNodeTransport } from "../../src/adapters/node-fetch";
import { departureOf, chatCompletionsLane } from "../../src/adapters/node-chat-lane";
import { createApp, createAppContext } from "../../src/app";
import { abortWatchers } from "../../src/util/abort-watch";
import { startSimulator, type RunningSimulator } from "../sim/start";
import { chatBody, testConfig } from "../helpers";

interface Served {
  url: string;
  /** Request URLs the Hono app was handed (with the lane: only what the lane passed on). */
  appCalls: string[];
  logs: Record<string, unknown>[];
  /** The server's side of every connection made to it. */
  sockets: Socket[];
  /** Every response the server made, in order. */
  responses: ServerResponse[];
  close(): Promise<void>;
}

/** Assembled as startProxy does it, with a spy between the lane and the app. */
async function serve(config: Record<string, unknown>, lane: boolean): Promise<Served> {
  const logs: Record<string, unknown>[] = [];
  const write = (text: string) => void logs.push(JSON.parse(text) as Record<string, unknown>);
  const deps = { config: testConfig(config), logger: createJsonLogger("info", { out: write, err: write }), ...createNodeTransport() };
  const ctx = createAppContext(deps);
  const app = getRequestListener(createApp(deps, ctx).fetch);
  const appCalls: string[] = [];
  const spy: RequestListener = (req, res) => (appCalls.push(req.url ?? ""), void app(req, res));
  const listener = lane ? chatCompletionsLane(ctx, spy) : spy;
  const responses: ServerResponse[] = [];
  const server = createServer((req, res) => (responses.push(res), listener(req, res)));
  const sockets: Socket[] = [];
  server.on("connection", (socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    appCalls,
    logs,
    sockets,
    responses,
    close: () => new Promise((done) => (server.closeAllConnections(), server.close(() => done()))),
  };
}

interface Sent {
  path?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked instead of a Content-Length. */
  chunked?: boolean;
}

interface Received {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(base: string, sent: Sent, agent?: Agent): Promise<Received> {
  return new Promise((resolve, reject) => {
    const body = sent.body ?? "";
    const headers = { "content-type": "application/json", ...(sent.chunked ? {} : { "content-length": String(Buffer.byteLength(body)) }), ...sent.headers };
    const req = httpRequest(`${base}${sent.path ?? "/v1/chat/completions"}`, { method: "POST", headers, ...(agent ? { agent } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    if (sent.chunked) req.write(body.slice(0, 10));
    req.end(sent.chunked ? body.slice(10) : body);
  });
}

/**
 * What may differ between two answers to the same request: ids, clocks, the simulator's per-call numbering (and so
 * the length; that Content-Length matches the body is checked on its own).
 */
function normalised(received: Received) {
  const { date: _date, "x-request-id": id, "content-length": _length, ...headers } = received.headers;
  const body = received.body
    .replace(/chatcmpl-sim-\d+/g, "ID")
    .replace(/"created":\d+/g, "")
    .replace(/\[simulated answer #\d+\]/g, "[answer]");
  return { status: received.status, headers, body, idShape: typeof id === "string" && /^[\w=-]{1,128}$/.test(id) };
}

function logShape(line: Record<string, unknown> | undefined) {
  const { time: _time, request_id: _id, total_ms: _total, sampling_ms: _s, judging_ms: _j, winner: _w, ...rest } = line ?? {};
  return rest;
}

/**
 * Nothing a request started still waits on its connection's signal: no listener of its own, and none of its upstream
 * calls' abort callbacks (they share one listener per signal, src/util/abort-watch.ts).
 */
function expectNothingWaitingOn(signal: AbortSignal): void {
  expect(abortWatchers(signal)).toBe(0);
  expect(getEventListeners(signal, "abort").length).toBeLessThanOrEqual(1);
}

const ask = (extra: Record<string, unknown> = {}) => JSON.stringify(chatBody({ seed: 3, ...extra }));
const passThroughHeaders = { "x-verdict-n": "1" };

describe("the Node chat lane", () => {
  let upstream: RunningSimulator;
  let withLane: Served;
  let appOnly: Served;
  let keyed: Served;
  let keyedAppOnly: Served;

  beforeAll(async () => {
    upstream = await startSimulator();
    const config = { generator: { base_url: upstream.url }, server: { body_limit_bytes: 4_096 } };
    const keys = { ...config, auth: { keys: ["proxy-key-123456"] } };
    [withLane, appOnly, keyed, keyedAppOnly] = await Promise.all([serve(config, true), serve(config, false), serve(keys, true), serve(keys, false)]);
  });
  afterAll(async () => {
    await Promise.all([withLane, appOnly, keyed, keyedAppOnly, upstream].map((s) => s?.close()));
  });

  const cases: [string, Sent, "lane" | "app"][] = [
    ["plain n = 1", { headers: passThroughHeaders, body: ask() }, "lane"],
    ["verdict.n = 1 in the body (stripped before it goes upstream)", { body: ask({ verdict: { n: 1 } }) }, "lane"],
    ["strategy none", { headers: { "x-verdict-strategy": "none" }, body: ask() }, "lane"],
    ["a streamed pass-through", { headers: passThroughHeaders, body: ask({ stream: true }) }, "lane"],
    ["the client's own request id", { headers: { ...passThroughHeaders, "x-request-id": "client-id_1=" }, body: ask() }, "lane"],
    ["a chunked body", { headers: passThroughHeaders, body: ask(), chunked: true }, "app"],
    ["a body that is not JSON", { headers: passThroughHeaders, body: "{not json" }, "lane"],
    ["a body said to be compressed (refused: verdict reads bodies as sent)", { headers: { ...passThroughHeaders, "content-encoding": "gzip" }, body: ask() }, "lane"],
    ["JSON whose bytes are not UTF-8 (refused, not sent on changed)", { headers: passThroughHeaders, body: Buffer.from(ask({ messages: [{ role: "user", content: "café" }] }), "latin1") }, "lane"],
    ["a missing messages field", { headers: passThroughHeaders, body: JSON.stringify({ model: "m" }) }, "lane"],
    ["a bad x-verdict-n", { headers: { "x-verdict-n": "one" }, body: ask() }, "lane"],
    ["a body over the limit", { headers: passThroughHeaders, body: ask({ padding: "x".repeat(5_000) }) }, "app"],
    ["a request to rerank (n = 2)", { headers: { "x-verdict-n": "2" }, body: ask() }, "lane"],
    ["a best-of-4 asked in the body, with the client's request id", { headers: { "x-request-id": "client-id_2" }, body: ask({ verdict: { n: 4 } }) }, "lane"],
    ["rubric scoring of three", { headers: { "x-verdict-n": "3", "x-verdict-strategy": "rubric" }, body: ask() }, "lane"],
    ["a request to rerank with stream: false", { headers: { "x-verdict-n": "2" }, body: ask({ stream: false }) }, "lane"],
    ["a reranked stream", { headers: { "x-verdict-n": "2" }, body: ask({ stream: true }) }, "lane"],
    ["a reranked stream with usage", { headers: { "x-verdict-n": "3" }, body: ask({ stream: true, stream_options: { include_usage: true } }) }, "lane"],
    ["another route", { path: "/v1/embeddings", body: JSON.stringify({ model: "m", input: "hi" }) }, "app"],
    ["a query string", { path: "/v1/chat/completions?x=1", headers: passThroughHeaders, body: ask() }, "app"],
    ["a Host whose port the server library checks itself", { headers: { ...passThroughHeaders, host: "localhost:99999" }, body: ask() }, "app"],
    ["two Cookie fields (one field upstream, joined as a Headers object joins them)", { headers: { ...passThroughHeaders, cookie: ["a=1", "b=2"] }, body: ask() }, "lane"],
    ["two User-Agent fields (Node's own header object keeps the first; both go upstream)", { headers: { ...passThroughHeaders, "user-agent": ["a/1", "b/2"] }, body: ask() }, "lane"],
    ["two x-verdict-n fields (read joined, as the app reads them)", { headers: { "x-verdict-n": ["1", "2"] }, body: ask() }, "lane"],
  ];

  it.each(cases)("%s: the same answer, log line and lane choice", async (_name, sent, answeredBy) => {
    const before = { lane: withLane.appCalls.length, logs: withLane.logs.length, appLogs: appOnly.logs.length };
    const forwarded = () => upstream.sim.requests.slice(seen).map(({ body, headers: { "x-request-id": id, ...headers } }) => ({ body, headers, id: id !== undefined }));
    let seen = upstream.sim.requests.length;
    const viaLane = await send(withLane.url, sent);
    const laneForwarded = forwarded();
    seen = upstream.sim.requests.length;
    const viaApp = await send(appOnly.url, sent);
    expect(normalised(viaLane)).toEqual(normalised(viaApp));
    expect(laneForwarded).toEqual(forwarded()); // what went upstream, too
    expect(withLane.appCalls.length - before.lane).toBe(answeredBy === "app" ? 1 : 0);
    const [laneLog, appLog] = [withLane.logs.slice(before.logs), appOnly.logs.slice(before.appLogs)];
    expect(laneLog.map(logShape)).toEqual(appLog.map(logShape));
    if (answeredBy === "lane") expect(laneLog.length).toBe(1);
    if (sent.headers?.["x-request-id"]) expect(viaLane.headers["x-request-id"]).toBe(sent.headers["x-request-id"]);
  });

  it("keeps the key a client brings for the generator out of a logged prompt (log.content), as the app does", async () => {
    const key = "myupstreamkey-abcdef123456";
    const served = await serve({ generator: { base_url: upstream.url }, auth: { forward_client_key: true }, log: { content: true } }, true);
    try {
      const sent = { body: ask({ messages: [{ role: "user", content: `my key: ${key}` }], verdict: { n: 2 } }), headers: { authorization: `Bearer ${key}` } };
      expect((await send(served.url, sent)).status).toBe(200);
      expect(served.appCalls).toEqual([]); // answered by the lane
      const line = served.logs.find((l) => l.event === "request")!;
      expect(line.messages).toEqual([{ role: "user", content: "my key: [redacted]" }]);
    } finally {
      await served.close();
    }
  });

  it("answers a pass-through in the lane with the upstream's body and status", async () => {
    const received = await send(withLane.url, { headers: passThroughHeaders, body: ask() });
    expect(received.status).toBe(200);
    expect(JSON.parse(received.body).object).toBe("chat.completion");
    expect(received.headers["content-encoding"]).toBeUndefined();
    expect(Number(received.headers["content-length"])).toBe(Buffer.byteLength(received.body));
    const forwarded = upstream.sim.requests.at(-1)!;
    expect(forwarded.body).not.toHaveProperty("verdict");
    expect(forwarded.headers["x-request-id"]).toBe(received.headers["x-request-id"]);
  });

  it("answers a client that sends Expect: 100-continue (curl does, for bodies over 1 KiB), and does not send it on", async () => {
    for (const served of [withLane, appOnly]) {
      const received = await send(served.url, { headers: { ...passThroughHeaders, expect: "100-continue" }, body: ask() });
      expect(received.status).toBe(200);
      expect(upstream.sim.requests.at(-1)!.headers).not.toHaveProperty("expect");
    }
  });

  it.each([
    ["no key", {}, "app"],
    ["a wrong key", { authorization: "Bearer wrong-key-000000" }, "app"],
    ["the right key", { authorization: "Bearer proxy-key-123456" }, "lane"],
  ] as const)("with proxy keys configured, %s gets the same answer", async (_name, auth, answeredBy) => {
    const sent = { headers: { ...passThroughHeaders, ...auth }, body: ask() };
    const before = keyed.appCalls.length;
    const [viaLane, viaApp] = [await send(keyed.url, sent), await send(keyedAppOnly.url, sent)];
    expect(normalised(viaLane)).toEqual(normalised(viaApp));
    expect(viaLane.status).toBe(answeredBy === "lane" ? 200 : 401);
    expect(keyed.appCalls.length - before).toBe(answeredBy === "app" ? 1 : 0);
  });

  it("leaves no listener behind on a keep-alive connection that carries many requests it answers", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = withLane.sockets.length;
    const handedOver = withLane.appCalls.length;
    const kinds: Sent[] = [
      { headers: passThroughHeaders, body: ask() },
      { headers: { "x-verdict-n": "2" }, body: ask() },
      { headers: { "x-verdict-n": "2" }, body: ask({ stream: true }) },
    ];
    try {
      for (let i = 0; i < 30; i++) expect((await send(withLane.url, kinds[i % kinds.length]!, agent)).status).toBe(200);
    } finally {
      agent.destroy();
    }
    expect(withLane.appCalls.length).toBe(handedOver); // the lane answered all 30
    const used = withLane.sockets.slice(before);
    expect(used).toHaveLength(1); // one connection carried all 30
    expectNothingWaitingOn(departureOf(used[0]!));
  });

  it("counts its requests in the same metrics as the app", async () => {
    const counted = async (served: Served) => {
      const text = await (await fetch(`${served.url}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith('verdict_requests_total{route="chat_completions",strategy="none",status="200"}'));
      return Number(line?.split(" ").at(-1) ?? 0);
    };
    const before = [await counted(withLane), await counted(appOnly)];
    const sent = { headers: passThroughHeaders, body: ask() };
    for (let i = 0; i < 3; i++) await Promise.all([send(withLane.url, sent), send(appOnly.url, sent)]);
    expect([await counted(withLane) - before[0]!, await counted(appOnly) - before[1]!]).toEqual([3, 3]);
  });
});

describe("the Node chat lane, upstream down", () => {
  it.each([["a pass-through", "1"], ["a request to rerank", "3"]])("answers %s with 502 generator_unreachable and the request id, as the app does", async (_name, n) => {
    const closed = await startSimulator();
    await closed.close(); // a port that refuses connections
    const config = { generator: { base_url: closed.url } };
    const [withLane, appOnly] = await Promise.all([serve(config, true), serve(config, false)]);
    try {
      const sent = { headers: { "x-verdict-n": n }, body: ask() };
      const [viaLane, viaApp] = [await send(withLane.url, sent), await send(appOnly.url, sent)];
      expect(normalised(viaLane)).toEqual(normalised(viaApp));
      expect(viaLane.status).toBe(502);
      expect(JSON.parse(viaLane.body).error.code).toBe("generator_unreachable");
      expect(withLane.appCalls).toEqual([]);
      expect(logShape(withLane.logs.at(-1))).toEqual(logShape(appOnly.logs.at(-1)));
      expect(withLane.logs.at(-1)!.request_id).toBe(viaLane.headers["x-request-id"]);
    } finally {
      await Promise.all([withLane.close(), appOnly.close()]);
    }
  });
});

describe("the Node chat lane, judge down", () => {
  // fail_closed refuses the request; fail_open answers with a candidate nobody judged, and says so.
  it.each(["fail_closed", "fail_open"])("with on_error %s, answers a request to rerank as the app does", async (onError) => {
    const [generator, closed] = await Promise.all([startSimulator(), startSimulator()]);
    await closed.close(); // a judge port that refuses connections
    const config = { generator: { base_url: generator.url }, judge: { base_url: closed.url, on_error: onError } };
    const [withLane, appOnly] = await Promise.all([serve(config, true), serve(config, false)]);
    try {
      const sent = { headers: { "x-verdict-n": "3" }, body: ask() };
      const [viaLane, viaApp] = [await send(withLane.url, sent), await send(appOnly.url, sent)];
      expect(normalised(viaLane)).toEqual(normalised(viaApp));
      expect(viaLane.status).toBe(onError === "fail_closed" ? 502 : 200);
      expect(withLane.appCalls).toEqual([]);
      expect(logShape(withLane.logs.at(-1))).toEqual(logShape(appOnly.logs.at(-1)));
    } finally {
      await Promise.all([withLane.close(), appOnly.close(), generator.close()]);
    }
  });
});

describe("the Node chat lane, against a hand-made upstream", () => {
  let mode: "stalled-error-page" | "two-cookies" = "two-cookies";
  const upstream = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (mode === "stalled-error-page") {
        // A load balancer's error page that stops halfway: the attempt's time limit must still end the request.
        res.writeHead(503, { "content-type": "text/html", "content-length": "1000" });
        res.write("<html>overloaded");
        return;
      }
      res.setHeader("set-cookie", ["__cf_bm=abc; path=/; expires=Sat, 30-Nov-26 17:15:00 GMT; HttpOnly", "_cfuvid=def; path=/"]);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "c1", object: "chat.completion", created: 1, model: "m", choices: [] }));
    });
  });
  let servers: Served[] = [];
  beforeAll(async () => {
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const config = {
      generator: { base_url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, timeout_ms: 300, max_retries: 1 },
      retry: { base_delay_ms: 10, max_delay_ms: 10 },
      timeouts: { request_ms: 2_000 },
    };
    servers = await Promise.all([serve(config, true), serve(config, false)]);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    upstream.closeAllConnections();
    upstream.close();
  });

  it("ends an error page that stalls with a 504 after its attempts' time limits, with the lane and without", async () => {
    mode = "stalled-error-page";
    for (const served of servers) {
      const started = Date.now();
      const received = await send(served.url, { headers: passThroughHeaders, body: ask() });
      expect(received.status).toBe(504);
      expect(JSON.parse(received.body).error.code).toBe("generator_timeout");
      expect(Date.now() - started).toBeLessThan(1_500); // two attempts of 300 ms, not the 2 s budget
    }
  });

  it("hands each Set-Cookie on apart, with the lane and without", async () => {
    mode = "two-cookies";
    for (const served of servers) {
      const received = await send(served.url, { headers: passThroughHeaders, body: ask() });
      expect(received.status).toBe(200);
      expect(received.headers["set-cookie"]).toEqual(["__cf_bm=abc; path=/; expires=Sat, 30-Nov-26 17:15:00 GMT; HttpOnly", "_cfuvid=def; path=/"]);
    }
  });
});

/** Opens a connection, sends `head` and `body`, and destroys the socket as soon as they are written. */
function sendAndLeave(base: string, head: string[], body: string, declaredLength = Buffer.byteLength(body)): Promise<void> {
  const { port } = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(port), "127.0.0.1");
    socket.on("error", () => undefined);
    const request = ["POST /v1/chat/completions HTTP/1.1", "Host: localhost", "Content-Type: application/json", `Content-Length: ${declaredLength}`, ...head, "", body];
    socket.write(request.join("\r\n"), () => (socket.destroy(), resolve()));
  });
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const requestLines = (served: Served) => served.logs.filter((line) => line.event === "request");

describe("the Node chat lane, clients that leave early", () => {
  let upstream: RunningSimulator;
  const servers: Served[] = [];
  beforeAll(async () => {
    upstream = await startSimulator({ generator: { latency: { ttft_ms: 300 } } });
  });
  afterAll(async () => {
    await Promise.all([...servers, upstream].map((s) => s.close()));
  });

  // The key check is asynchronous, so a client can leave during it: nothing may then be left running upstream.
  it.each([["a pass-through", "1"], ["a request to rerank", "3"]])(
    "with proxy keys, %s whose client leaves right after sending starts no upstream work that outlives it",
    async (_name, n) => {
      const config = { generator: { base_url: upstream.url, supports_n: false }, auth: { keys: ["proxy-key-123456"] } };
      const [withLane, appOnly] = await Promise.all([serve(config, true), serve(config, false)]);
      servers.push(withLane, appOnly);
      for (const served of [withLane, appOnly]) {
        const seen = upstream.sim.requests.length;
        for (let i = 0; i < 10; i++) await sendAndLeave(served.url, ["Authorization: Bearer proxy-key-123456", `X-Verdict-N: ${n}`], ask());
        await settle(800); // past the simulator's 300 ms: an upstream call nobody aborted has finished by now
        expect(upstream.sim.requests.slice(seen).filter((r) => !r.aborted)).toEqual([]);
        expect(requestLines(served).map((line) => `${served === withLane ? "lane" : "app"} ${line.status} ${line.error}`)).toEqual(Array(10).fill(`${served === withLane ? "lane" : "app"} 499 cancelled`));
      }
    },
  );

  it("a reranked stream whose client leaves mid-way ends its work, its keep-alives and its listener, logged as 499 by both", async () => {
    const slowJudge = await startSimulator({ judge: { latency: { ttft_ms: 5_000 } } });
    const config = { generator: { base_url: slowJudge.url }, judge: { base_url: slowJudge.url }, server: { keepalive_ms: 50 } };
    const [withLane, appOnly] = await Promise.all([serve(config, true), serve(config, false)]);
    servers.push(withLane, appOnly);
    const started = vi.spyOn(globalThis, "setInterval");
    const stopped = vi.spyOn(globalThis, "clearInterval");
    try {
      for (const served of [withLane, appOnly]) {
        const before = { sockets: served.sockets.length, calls: slowJudge.sim.requests.length, intervals: started.mock.results.length };
        const req = httpRequest(`${served.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", "x-verdict-n": "4" } });
        req.on("error", () => undefined);
        req.on("response", (res) => res.resume());
        req.end(ask({ stream: true }));
        // Judges asked (and waiting on the slow judge), keep-alives flowing: then the client goes.
        const judgeCalls = () => slowJudge.sim.requests.slice(before.calls).filter((r) => r.role === "judge");
        const judging = () => judgeCalls().length > 0;
        for (let waited = 0; !judging() && waited < 2_000; waited += 10) await settle(10);
        expect(judging()).toBe(true);
        req.destroy();
        await settle(200);
        expect(judgeCalls().filter((r) => !r.aborted)).toEqual([]);
        expect(requestLines(served).map((line) => [line.status, line.error]).at(-1)).toEqual([499, "cancelled"]);
        const intervals = started.mock.results.slice(before.intervals).map((r) => r.value as unknown);
        expect(intervals.length).toBeGreaterThan(0);
        for (const interval of intervals) expect(stopped.mock.calls.some(([id]) => id === interval)).toBe(true);
        if (served === withLane) {
          for (const socket of served.sockets.slice(before.sockets)) expectNothingWaitingOn(departureOf(socket));
        }
      }
    } finally {
      started.mockRestore();
      stopped.mockRestore();
      await slowJudge.close();
    }
  });

  it("a client that breaks off its upload is logged as cancelled (499) by both, not as an internal error", async () => {
    const config = { generator: { base_url: upstream.url } };
    const [withLane, appOnly] = await Promise.all([serve(config, true), serve(config, false)]);
    servers.push(withLane, appOnly);
    for (const served of [withLane, appOnly]) {
      await sendAndLeave(served.url, ["X-Verdict-N: 1"], ask().slice(0, 20), Buffer.byteLength(ask()));
      await settle(200);
      expect(served.logs.filter((line) => line.event === "unhandled_error")).toEqual([]);
      expect(requestLines(served).map((line) => [line.status, line.error])).toEqual([[499, "cancelled"]]);
    }
    expect(logShape(requestLines(withLane)[0])).toEqual(logShape(requestLines(appOnly)[0]));
  });
});

describe("the Node chat lane, a client without the proxy key", () => {
  it("is refused with 401 before its body is read: a keyless client cannot make verdict buffer megabytes", async () => {
    const served = await serve({ auth: { keys: ["proxy-key-123456"] } }, true);
    try {
      const answered = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        // Declares 4 MB and sends a few bytes, then waits: only an answer that did not wait for the body arrives.
        const req = httpRequest(`${served.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", "content-length": String(4_000_000) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk)).on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
        });
        req.on("error", reject);
        req.write('{"model":"m",');
        setTimeout(() => reject(new Error("no answer within 2 s: the body was waited for")), 2_000);
      });
      expect(answered.status).toBe(401);
      expect(JSON.parse(answered.body).error.message).toMatch(/needs an API key/);
    } finally {
      await served.close();
    }
  });
});

describe("the Node chat lane, a slow upload", () => {
  /**
   * Sends a body whose last part comes 700 ms after its first; resolves with the answer's status and body. Well past
   * the 250 ms budgets below: with 300 ms, a busy machine (the full suite) once handled the body's end before the
   * budget's timer, and the request went upstream.
   */
  const sendSlowly = (base: string, headers: Record<string, string>, stream = false) =>
    new Promise<{ status: number; body: string }>((resolve) => {
      const body = ask({ stream });
      const sent = { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...headers };
      const req = httpRequest(`${base}/v1/chat/completions`, { method: "POST", headers: sent }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk)).on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
      });
      // An upload refused at the end of its budget has its connection closed: the rest, sent after, may meet a closed
      // socket, which is the answer working as meant, not a failure of this client.
      req.on("error", () => undefined);
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 700);
    });

  it("counts a request's time from its first byte, as the app does", async () => {
    const upstream = await startSimulator();
    const [withLane, appOnly] = await Promise.all([serve({ generator: { base_url: upstream.url } }, true), serve({ generator: { base_url: upstream.url } }, false)]);
    try {
      for (const served of [withLane, appOnly]) {
        await sendSlowly(served.url, passThroughHeaders);
        // The last part left 300 ms after the first; the first reached the server a moment after it left.
        expect(requestLines(served).at(-1)!.total_ms).toBeGreaterThanOrEqual(250);
      }
    } finally {
      await Promise.all([withLane.close(), appOnly.close(), upstream.close()]);
    }
  });

  it.each([["a request to rerank", false], ["a reranked stream", true]] as const)(
    "%s counts its upload in its log line and its budget",
    async (_name, stream) => {
      const upstream = await startSimulator();
      // A budget the upload alone uses up.
      const config = { generator: { base_url: upstream.url }, timeouts: { request_ms: 250 } };
      const [withLane, appOnly] = await Promise.all([serve(config, true), serve(config, false)]);
      try {
        for (const served of [withLane, appOnly]) {
          const calls = upstream.sim.requests.length;
          const { status, body } = await sendSlowly(served.url, { "x-verdict-n": "2" }, stream);
          // Named by the whole budget, and refused before anything went upstream: a stream too, which has not begun
          // (its first keep-alive is seconds away).
          expect(status).toBe(504);
          expect(body).toMatch(/time budget of 250 ms/);
          expect(upstream.sim.requests.length).toBe(calls);
          const line = requestLines(served).at(-1)!;
          expect([line.status, line.error]).toEqual([504, "request_timeout"]);
          expect(line.total_ms).toBeGreaterThanOrEqual(250); // the upload's time (the timer starts before the connection)
        }
        expect(withLane.appCalls).toEqual([]);
      } finally {
        await Promise.all([withLane.close(), appOnly.close(), upstream.close()]);
      }
    },
  );

  it("counts a request it refuses from its first byte in the log line, as the app does", async () => {
    const upstream = await startSimulator();
    const [withLane, appOnly] = await Promise.all([serve({ generator: { base_url: upstream.url } }, true), serve({ generator: { base_url: upstream.url } }, false)]);
    try {
      for (const served of [withLane, appOnly]) {
        expect((await sendSlowly(served.url, { "x-verdict-n": "one" })).status).toBe(400);
        expect(requestLines(served).at(-1)!.total_ms).toBeGreaterThanOrEqual(250);
      }
      expect(withLane.appCalls).toHaveLength(0); // refused by the lane itself
    } finally {
      await Promise.all([withLane.close(), appOnly.close(), upstream.close()]);
    }
  });

  it("gives a request to rerank its whole budget after the wall clock is stepped (NTP, a resumed VM)", async () => {
    const upstream = await startSimulator();
    const [withLane, appOnly] = await Promise.all([serve({ generator: { base_url: upstream.url } }, true), serve({ generator: { base_url: upstream.url } }, false)]);
    const wall = Date.now;
    // Date.now() ten minutes ahead of the monotonic clock the lane's arrival times are taken on.
    const stepped = vi.spyOn(Date, "now").mockImplementation(() => wall() + 10 * 60_000);
    try {
      for (const served of [appOnly, withLane]) expect((await send(served.url, { headers: { "x-verdict-n": "2" }, body: ask() })).status).toBe(200);
      expect(withLane.appCalls).toEqual([]); // the lane reckoned the budget itself
    } finally {
      stepped.mockRestore();
      await Promise.all([withLane.close(), appOnly.close(), upstream.close()]);
    }
  });
});

describe("the Node chat lane, an upstream of our own", () => {
  let handler: RequestListener = () => undefined;
  const upstream = createServer((req, res) => handler(req, res));
  let withLane: Served;
  let appOnly: Served;
  beforeAll(async () => {
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const config = { generator: { base_url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1` } };
    [withLane, appOnly] = await Promise.all([serve(config, true), serve(config, false)]);
  });
  afterAll(async () => {
    upstream.closeAllConnections();
    await Promise.all([withLane.close(), appOnly.close(), new Promise((done) => upstream.close(done))]);
  });

  it("sends a stream's headers at once, not with its first event", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" }).flushHeaders();
      setTimeout(() => res.end('data: {"a":1}\n\ndata: [DONE]\n\n'), 1_500);
    };
    const headersAfter = (base: string) => new Promise<number>((resolve) => {
      const started = performance.now();
      const req = httpRequest(`${base}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...passThroughHeaders } }, (res) => {
        resolve(performance.now() - started);
        res.resume();
      });
      req.end(ask({ stream: true }));
    });
    const [lane, app] = await Promise.all([headersAfter(withLane.url), headersAfter(appOnly.url)]);
    expect(app).toBeLessThan(1_000);
    expect(lane).toBeLessThan(1_000);
  });

  it("relays a stream cut off mid-event as its whole events and then an error event, as the app does", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"a":1}\n\ndata: {"b":');
      setTimeout(() => res.socket?.destroy(), 50); // half an event, then the connection drops
    };
    const sent = { headers: passThroughHeaders, body: ask({ stream: true }) };
    const [viaLane, viaApp] = [await send(withLane.url, sent), await send(appOnly.url, sent)];
    expect(normalised(viaLane)).toEqual(normalised(viaApp));
    const events = viaLane.body.split("\n\n").filter((e) => e !== "");
    expect(events[0]).toBe('data: {"a":1}');
    expect(JSON.parse(events.at(-1)!.slice("data: ".length)).error.code).toBe("upstream_stream_truncated");
    expect(events).toHaveLength(2);
  });

  it("relays a stream that arrives in many small writes whole and in order, to a client that reads slowly", async () => {
    // Enough to fill the sockets' buffers, so the lane must wait for the client to drain them.
    const events = Array.from({ length: 4_000 }, (_, i) => `data: {"i":${i},"pad":"${"x".repeat(500)}"}\n\n`);
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      let i = 0;
      const more = () => {
        while (i < events.length) {
          const event = events[i++]!;
          // Split mid-event too: the lane must pass on only whole events, and all of them.
          if (!res.write(event.slice(0, 7)) || !res.write(event.slice(7))) return void res.once("drain", more);
        }
        res.end();
      };
      more();
    };
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${withLane.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...passThroughHeaders } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          res.pause();
          setTimeout(() => res.resume(), 1); // a slow reader
        });
        res.on("end", () => resolve(Buffer.concat(chunks).toString()));
      });
      req.on("error", reject);
      req.end(ask({ stream: true }));
    });
    expect(body).toBe(events.join(""));
  });

  it("ends the upstream's stream when the client leaves in the middle of it", async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const tick = setInterval(() => res.write('data: {"more":true}\n\n'), 20);
      res.on("close", () => (clearInterval(tick), upstreamClosed()));
    };
    const req = httpRequest(`${withLane.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...passThroughHeaders } }, (res) => {
      res.once("data", () => req.destroy()); // one event, then the client goes
    });
    req.on("error", () => undefined);
    req.end(ask({ stream: true }));
    await closed; // a stream nobody ended would run until the test times out
  });

  it("lets go of a stream queued behind another answer on its connection (pipelined) when the client leaves", async () => {
    const slowAnswer = JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }] });
    const event = `data: ${JSON.stringify({ choices: [{ delta: { content: "x".repeat(2_000) } }] })}\n\n`;
    handler = (req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk)).on("end", () => {
        if (!body.includes('"stream":true')) return void setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end(slowAnswer), 300);
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (let i = 0; i < 200; i++) res.write(event); // about 400 KB, more than the queued answer holds, then open
      });
    };
    const request = (stream: boolean) => {
      const body = ask(stream ? { stream: true } : {});
      const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Verdict-N: 1\r\n`;
      return `${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    };
    const before = withLane.responses.length;
    const client = connect(Number(new URL(withLane.url).port), "127.0.0.1");
    client.on("error", () => undefined);
    await new Promise((resolve) => client.once("connect", resolve));
    client.pause(); // it reads nothing
    client.write(request(false) + request(true));
    await expect.poll(() => withLane.responses.length - before).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    client.destroy();
    const queued = withLane.responses[before + 1]!;
    // Its writer waited for a drain that never comes: it must stop when the connection goes, not hold on forever.
    await expect.poll(() => queued.listenerCount("drain"), { timeout: 2_000 }).toBe(0);
  });

  it("gives a body that came without a content type the same default as the app", async () => {
    handler = (_req, res) => res.end("plain words");
    const sent = { headers: passThroughHeaders, body: ask() };
    const [viaLane, viaApp] = [await send(withLane.url, sent), await send(appOnly.url, sent)];
    expect(normalised(viaLane)).toEqual(normalised(viaApp));
    expect(viaLane.headers["content-type"]).toMatch(/^text\/plain/);
  });
});
