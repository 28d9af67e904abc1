// Both ways verdict exchanges with an upstream (straight over node:http on Node, over fetch elsewhere) keep one
// contract: JSON whole, streams as chunks, a time limit that covers the answer (a JSON body included) but not a
// stream once it runs, and the caller's abort ending the call with its own reason.
import { getEventListeners } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeExchange } from "../../src/adapters/node-exchange";
import { ExchangeTimeout, exchangeOverFetch, FAILED_BODY_LIMIT, isWhole, replyText, type Exchange } from "../../src/exchange";
import { redactingExchange } from "../../src/redact";
import { abortWatchers } from "../../src/util/abort-watch";

const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  "/json": (req, res) => {
    res.setHeader("X-Upstream", "Yes");
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization ?? null }));
  },
  "/slow-events": (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write("data: one\n\n");
    setTimeout(() => res.end("data: two\n\n"), 250); // after the exchange's time limit
  },
  "/hang": () => undefined,
  "/slow-json": (_req, res) => {
    setTimeout(() => (res.writeHead(200, { "content-type": "application/json" }), res.end("{}")), 150);
  },
  "/stalled-json": (_req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
    res.write('{"partial":'); // and nothing more
  },
  "/stalled-text": (_req, res) => {
    res.writeHead(502, { "content-type": "text/html", "content-length": "100" });
    res.write("<html>bad gateway"); // and nothing more
  },
  "/stalled-ok-text": (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": "100" });
    res.write("some words"); // and nothing more
  },
  "/cookies": (_req, res) => {
    res.setHeader("set-cookie", ["a=1; expires=Sat, 30-Nov-26 17:15:00 GMT", "b=2"]);
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  },
  "/text": (_req, res) => {
    res.writeHead(502, { "content-type": "text/html" });
    res.end("<html>bad gateway</html>");
  },
  "/huge-error": (_req, res) => {
    // 32 MiB of error page, written as fast as the reader takes it.
    res.writeHead(500, { "content-type": "text/html" });
    const chunk = Buffer.alloc(64 * 1024, "x");
    let sent = 0;
    const more = () => {
      while (sent < 32 * 1024 * 1024) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", more);
      }
      res.end();
    };
    res.on("error", () => undefined); // the reader hangs up partway
    more();
  },
  "/key-page": (_req, res) => {
    res.writeHead(401, { "content-type": "text/plain" });
    res.end(keyPage);
  },
  "/short-events": (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.end("data: all\n\n");
  },
  "/unasked-continue": (_req, res) => {
    res.writeContinue();
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"after":"continue"}');
  },
  "/early-hints": (_req, res) => {
    res.writeEarlyHints({ link: "</style.css>; rel=preload" });
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"after":"hints"}');
  },
  "/broken-events": (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write("data: one\n\n");
    setTimeout(() => res.socket?.destroy(), 50);
  },
  "/gzip-bomb": (_req, res) => {
    // 8 KiB on the wire that unpack to 16 MiB of error page.
    res.writeHead(500, { "content-type": "text/html", "content-encoding": "gzip" });
    res.end(gzipSync(Buffer.alloc(16 * 1024 * 1024, "x")));
  },
  "/gzip-bomb-ok": (_req, res) => {
    // 70 KiB on the wire that unpack to 80 MiB of JSON-looking answer: past what any answer may be.
    res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
    res.end(gzipSync(Buffer.alloc(80 * 1024 * 1024, " ")));
  },
  "/endless-json": (_req, res) => {
    // A 200 JSON answer that never ends, written as fast as the reader takes it.
    res.writeHead(200, { "content-type": "application/json" });
    const chunk = Buffer.alloc(256 * 1024, " ");
    const more = () => {
      while (res.write(chunk));
      res.once("drain", more);
    };
    res.on("error", () => undefined); // the reader hangs up
    res.on("close", () => res.removeAllListeners("drain"));
    more();
  },
  "/empty": (_req, res) => {
    res.writeHead(204);
    res.end();
  },
};

let server: Server;
let base = "";
/** Errors nobody handled, which would take a server down: an exchange must never cause one. */
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => void uncaught.push(err);
/** What /key-page answers: an error page that echoes the key somewhere. */
let keyPage = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => routes[req.url ?? ""]!(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.on("uncaughtException", onUncaught);
});

afterAll(() => {
  process.off("uncaughtException", onUncaught);
  server.closeAllConnections();
  server.close();
});

const exchanges: Record<string, Exchange> = {
  "the Node exchange": createNodeExchange(),
  "an exchange over fetch": exchangeOverFetch(globalThis.fetch.bind(globalThis)),
};

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => expect.unreachable("the exchange was answered"), (err: unknown) => err);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(Object.entries(exchanges))("%s", (_name, exchange) => {
  const call = (path: string, extra: Partial<Parameters<Exchange>[0]> = {}) =>
    exchange({ url: `${base}${path}`, method: "POST", headers: { authorization: "Bearer k" }, body: "{}", ...extra });

  it("answers JSON whole, with lower-case header names", async () => {
    const reply = await call("/json");
    expect(reply.status).toBe(200);
    expect(reply.headers["x-upstream"]).toBe("Yes");
    expect(isWhole(reply.body)).toBe(true);
    expect(JSON.parse(await replyText(reply))).toEqual({ method: "POST", auth: "Bearer k" });
  });

  it("answers a stream as chunks, and its time limit ends with the headers", async () => {
    const reply = await call("/slow-events", { timeoutMs: 100 });
    expect(isWhole(reply.body)).toBe(false);
    expect(await replyText(reply)).toBe("data: one\n\ndata: two\n\n");
  });

  it("fails with ExchangeTimeout when no answer comes in time", async () => {
    const started = Date.now();
    expect(await rejection(call("/hang", { timeoutMs: 100 }))).toBeInstanceOf(ExchangeTimeout);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("counts a JSON body in the time limit: one that stalls fails with ExchangeTimeout", async () => {
    expect(await rejection(call("/stalled-json", { timeoutMs: 100 }))).toBeInstanceOf(ExchangeTimeout);
  });

  it("reads a failed answer whole under the limit, whatever its type: an error page that stalls times out", async () => {
    const reply = await call("/text", { timeoutMs: 1_000 });
    expect(reply.status).toBe(502);
    expect(isWhole(reply.body)).toBe(true);
    expect(await replyText(reply)).toBe("<html>bad gateway</html>");
    expect(await rejection(call("/stalled-text", { timeoutMs: 100 }))).toBeInstanceOf(ExchangeTimeout);
  });

  it("reads no more than FAILED_BODY_LIMIT bytes of a failed answer, however long", async () => {
    const reply = await call("/huge-error", { timeoutMs: 5_000 });
    expect(reply.status).toBe(500);
    expect((reply.body as Uint8Array).byteLength).toBe(FAILED_BODY_LIMIT);
  });

  it("reads any answer whole under the limit when asked to", async () => {
    expect(await rejection(call("/stalled-ok-text", { whole: true, timeoutMs: 100 }))).toBeInstanceOf(ExchangeTimeout);
  });

  it("keeps each Set-Cookie apart", async () => {
    expect((await call("/cookies")).cookies).toEqual(["a=1; expires=Sat, 30-Nov-26 17:15:00 GMT", "b=2"]);
  });

  it("ends with the caller's reason when the caller aborts", async () => {
    const controller = new AbortController();
    const why = new Error("client left");
    setTimeout(() => controller.abort(why), 50);
    expect(await rejection(call("/hang", { signal: controller.signal, timeoutMs: 5_000 }))).toBe(why);
    expect(await rejection(call("/json", { signal: controller.signal }))).toBe(why); // already aborted: not sent
  });

  it("ends a running stream with the caller's reason", async () => {
    const controller = new AbortController();
    const reply = await call("/slow-events", { signal: controller.signal });
    const why = new Error("client left");
    controller.abort(why);
    expect(await rejection(replyText(reply))).toBe(why);
  });

  it("follows the caller's signal only while a call runs: calls that ended leave nothing waiting on it", async () => {
    const signal = new AbortController().signal;
    for (let i = 0; i < 5; i++) await replyText(await call("/json", { signal }));
    await rejection(call("/hang", { signal, timeoutMs: 50 }));
    await replyText(await call("/slow-events", { signal }));
    expect(abortWatchers(signal)).toBe(0);
    expect(getEventListeners(signal, "abort").length).toBeLessThanOrEqual(1);
  });

  it("gives no body for a 204", async () => {
    expect((await call("/empty")).body).toBeNull();
  });

  it("waits through an interim answer (103 Early Hints) for the real one", async () => {
    const reply = await call("/early-hints");
    expect(reply.status).toBe(200);
    expect(JSON.parse(await replyText(reply))).toEqual({ after: "hints" });
  });

  it("fails the reading of a stream whose connection breaks in the middle, rather than ending it as if complete", async () => {
    const reply = await call("/broken-events");
    expect(await rejection(replyText(reply))).toBeInstanceOf(Error);
  });

  it("fails a stream whose connection broke before anyone read it, when it is read, and not before", async () => {
    uncaught.length = 0;
    const reply = await call("/broken-events");
    await pause(150); // the connection breaks while nobody reads
    expect(uncaught).toEqual([]);
    expect(await rejection(replyText(reply))).toBeInstanceOf(Error);
  });

  it("ends a stream not yet read with the caller's reason, whether or not all of it has come in", async () => {
    uncaught.length = 0;
    for (const path of ["/slow-events", "/short-events"]) {
      const controller = new AbortController();
      const reply = await call(path, { signal: controller.signal });
      await pause(50);
      const why = new Error("client left");
      controller.abort(why);
      await pause(20);
      expect(uncaught).toEqual([]);
      expect(await rejection(replyText(reply))).toBe(why);
    }
  });

  it("fails a successful answer past MAX_ANSWER_BYTES, streamed or unpacked, instead of holding it all", async () => {
    for (const path of ["/endless-json", "/gzip-bomb-ok"]) {
      const err = await rejection(call(path, { headers: { "accept-encoding": "gzip" }, timeoutMs: 10_000 }));
      expect(err).toMatchObject({ status: 502, code: "upstream_answer_too_large" });
    }
  });

  it("unpacks no more than FAILED_BODY_LIMIT bytes of a compressed failed answer", async () => {
    const reply = await call("/gzip-bomb", { headers: { "accept-encoding": "gzip" }, timeoutMs: 5_000 });
    expect(reply.status).toBe(500);
    expect((reply.body as Uint8Array).byteLength).toBe(FAILED_BODY_LIMIT);
  });
});

describe("the Node exchange, given a 100 Continue nobody asked for", () => {
  // undici ends the connection there (Node's fetch fails as unreachable); workerd's fetch hands the 100 back as the
  // answer, which callers refuse as no answer. The Node exchange does the same, so both runtimes say the same thing.
  it("answers status 100 with no body, not a failure to reach the upstream", async () => {
    const reply = await createNodeExchange()({ url: `${base}/unasked-continue`, method: "POST", headers: {}, body: "{}" });
    expect(reply).toMatchObject({ status: 100, body: null });
  });
});

describe("the Node exchange, its connections all busy", () => {
  it("ends a call aborted while it waits for a connection, which then never reaches the upstream", async () => {
    const exchange = createNodeExchange({ maxSockets: 1 });
    const seen: string[] = [];
    const counting = (req: IncomingMessage) => seen.push(req.url ?? "");
    server.on("request", counting);
    const holder = new AbortController();
    const waiter = new AbortController();
    try {
      const holding = exchange({ url: `${base}/hang`, method: "POST", headers: {}, body: "{}", signal: holder.signal });
      const waiting = exchange({ url: `${base}/json`, method: "POST", headers: {}, body: "{}", signal: waiter.signal });
      await pause(100);
      const why = new Error("client left");
      waiter.abort(why);
      expect(await rejection(waiting)).toBe(why);
      holder.abort(new Error("done"));
      await holding.catch(() => undefined);
      // The one connection is free again: a new call goes through, and the aborted one was never sent.
      expect((await exchange({ url: `${base}/json`, method: "POST", headers: {}, body: "{}" })).status).toBe(200);
      expect(seen).toEqual(["/hang", "/json"]);
    } finally {
      server.off("request", counting);
    }
  });

  it.each([1, 2])("keeps its connections when a call waiting for one is aborted (%i connections)", async (maxSockets) => {
    const exchange = createNodeExchange({ maxSockets });
    let connections = 0;
    const counting = () => void (connections += 1);
    server.on("connection", counting);
    const call = (path: string, signal?: AbortSignal) => exchange({ url: `${base}${path}`, method: "POST", headers: {}, body: "{}", signal });
    try {
      // Every connection busy with a call that ends normally; one more call waits, and its client leaves.
      const busy = Array.from({ length: maxSockets }, () => call("/slow-json"));
      await pause(30);
      const leaving = new AbortController();
      const queued = rejection(call("/json", leaving.signal));
      leaving.abort(new Error("client left"));
      await queued;
      for (const reply of await Promise.all(busy)) expect(reply.status).toBe(200);
      await pause(30);
      // As many calls again: they go over the connections the first ones left idle, none of which was dropped.
      for (const reply of await Promise.all(Array.from({ length: maxSockets }, () => call("/json")))) expect(reply.status).toBe(200);
      expect(connections).toBe(maxSockets);
    } finally {
      server.off("connection", counting);
    }
  });

  it("fails at once a call whose streamed upload breaks while it waits for a connection", async () => {
    uncaught.length = 0;
    // Two connections: with one, undici makes a bare client instead of a pool, whose queue works differently.
    const exchange = createNodeExchange({ maxSockets: 2 });
    const holder = new AbortController();
    const hang = () => exchange({ url: `${base}/hang`, method: "POST", headers: {}, body: "{}", signal: holder.signal }).catch(() => undefined);
    const holding = Promise.all([hang(), hang()]);
    await pause(50);
    let upload!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (controller) => void (upload = controller) });
    const waiting = rejection(exchange({ url: `${base}/json`, method: "POST", headers: {}, body }));
    await pause(50);
    upload.error(new Error("upload broke"));
    const failure = (await waiting) as TypeError;
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure.cause as Error).message).toBe("upload broke");
    expect(uncaught).toEqual([]);
    holder.abort(new Error("done"));
    await holding;
  });
});

// A failed answer reaches the client and the logs scrubbed of the keys the request carried, however long the error
// page and wherever in it the key stands: also across the points where it is cut.
describe.each(Object.entries(exchanges))("a failed answer through %s, redacted", (_name, exchange) => {
  const SECRET = "gen-key-0123456789abcdef";
  const call = () => redactingExchange(exchange, [SECRET])({ url: `${base}/key-page`, method: "POST", headers: {}, body: "{}", timeoutMs: 5_000 });

  it.each([
    ["across the 64 KiB the client is shown", 64 * 1024 - 12],
    ["across the exchange's own cut", FAILED_BODY_LIMIT - 12],
  ])("leaves no part of a key that stands %s", async (_where, at) => {
    keyPage = `${"x".repeat(at)}${SECRET} is not a valid key`;
    const text = await replyText(await call());
    expect(text).not.toContain(SECRET.slice(0, 8));
    expect(text.length).toBeLessThanOrEqual(64 * 1024);
  });

  it("keeps a short error whole, the key replaced", async () => {
    keyPage = `key ${SECRET} is not valid`;
    expect(await replyText(await call())).toBe("key [redacted] is not valid");
  });
});
