// The Node upstream fetch behaves as fetch does for what verdict and the openai SDK rely on: JSON and streamed bodies,
// compressed answers, streamed request bodies, aborts before and during a call, refused connections.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { brotliCompressSync, createGzip, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeFetch } from "../../src/adapters/node-fetch";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const routes: Record<string, Handler> = {
  "/json": (_req, res, body) => {
    res.writeHead(200, { "content-type": "application/json", "x-upstream": "yes" });
    res.end(JSON.stringify({ echoed: body }));
  },
  "/headers": (req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ method: req.method, length: req.headers["content-length"] ?? null, custom: req.headers["x-custom"] ?? null }));
  },
  "/unasked-continue": (_req, res) => {
    res.writeContinue();
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  },
  "/gzip": (_req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
    res.end(gzipSync(JSON.stringify({ compressed: true })));
  },
  "/events": (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write("data: one\n\n");
    setTimeout(() => res.end("data: two\n\n"), 30);
  },
  "/hang-stream": (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write("data: first\n\n"); // and never ends
  },
  "/watched-stream": (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write("data: first\n\n"); // and never ends, unless the caller lets go
    res.on("close", () => watchedClosed());
  },
  "/gzip-cut": (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream", "content-encoding": "gzip" });
    const gzip = createGzip();
    gzip.pipe(res);
    gzip.write("data: one\n\n");
    gzip.flush(() => setTimeout(() => res.destroy(), 20)); // the first event arrives, then the connection dies
  },
  "/layered": (_req, res) => {
    // Brotli first, then gzip: the header lists them in the order applied.
    res.writeHead(200, { "content-type": "application/json", "content-encoding": "br, gzip" });
    res.end(gzipSync(brotliCompressSync(JSON.stringify({ layers: 2 }))));
  },
  "/reset-content": (_req, res) => {
    res.writeHead(205, { "content-type": "application/json" });
    res.end();
  },
  "/odd-status": (_req, res) => {
    res.writeHead(600, { "content-type": "text/plain" });
    res.end("not a status fetch knows");
  },
  "/hang": () => undefined, // never answers
  "/cut": (_req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
    res.write('{"partial":');
    setTimeout(() => res.destroy(), 10);
  },
  "/cookies": (_req, res) => {
    // Two Set-Cookie lines and names in mixed case, as an upstream behind a CDN sends them.
    res.setHeader("Set-Cookie", ["a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT"]);
    res.setHeader("X-Mixed-Case", "kept");
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  },
  "/framed": (req, res, body) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ method: req.method, body, encoding: req.headers["transfer-encoding"] ?? null }));
  },
  "/smuggled": (_req, res) => {
    smuggled += 1;
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  },
  "/empty": (_req, res) => {
    res.writeHead(204);
    res.end();
  },
};

let smuggled = 0;
let server: Server;
let base = "";
let watchedClosed: () => void = () => undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => routes[req.url ?? ""]!(req, res, Buffer.concat(chunks).toString()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe("createNodeFetch", () => {
  const nodeFetch = createNodeFetch();

  it("sends a text body with its length and returns the JSON answer with status and headers", async () => {
    const response = await nodeFetch(`${base}/json`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"a":1}' });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-upstream")).toBe("yes");
    expect(await response.json()).toEqual({ echoed: '{"a":1}' });
  });

  it("answers an unasked 100 Continue as the upstream's 502 it amounts to, not a refused connection", async () => {
    const response = await nodeFetch(`${base}/unasked-continue`, { method: "POST", body: "{}" });
    expect(response.status).toBe(502);
    expect((await response.json()).error.message).toBe("upstream answered 100, which is not an answer");
  });

  it("keeps repeated answer headers apart (two Set-Cookie) and reads names in any case", async () => {
    const response = await nodeFetch(`${base}/cookies`);
    expect(response.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT"]);
    expect(response.headers.get("x-mixed-case")).toBe("kept");
    const single = await nodeFetch(`${base}/json`, { method: "POST", body: "{}" });
    expect([...single.headers].find(([name]) => name === "x-upstream")).toEqual(["x-upstream", "yes"]);
  });

  it("passes headers given as a Headers object, and sends a byte body's length", async () => {
    const response = await nodeFetch(`${base}/headers`, { method: "PUT", headers: new Headers({ "X-Custom": "v" }), body: new Uint8Array([1, 2, 3]) });
    expect(await response.json()).toEqual({ method: "PUT", length: "3", custom: "v" });
  });

  it("frames a streamed body for every method: DELETE and OPTIONS too, whose bodies Node would send unframed", async () => {
    const inner = "POST /smuggled HTTP/1.1\r\nHost: x\r\ncontent-length: 0\r\n\r\n";
    for (const method of ["DELETE", "OPTIONS", "POST"]) {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(inner));
          controller.close();
        },
      });
      const response = await nodeFetch(`${base}/framed`, { method, body, duplex: "half" } as RequestInit);
      expect(await response.json()).toEqual({ method, body: inner, encoding: "chunked" });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(smuggled).toBe(0);
  });

  it("sends a web-stream request body", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("streamed "));
        controller.enqueue(new TextEncoder().encode("body"));
        controller.close();
      },
    });
    const response = await nodeFetch(`${base}/json`, { method: "POST", body, duplex: "half" } as RequestInit);
    expect(await response.json()).toEqual({ echoed: "streamed body" });
  });

  it("decodes a gzip answer", async () => {
    const response = await nodeFetch(`${base}/gzip`, { headers: { "accept-encoding": "gzip" } });
    expect(await response.json()).toEqual({ compressed: true });
  });

  it("hands an event stream on as it arrives", async () => {
    const response = await nodeFetch(`${base}/events`);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("data: one\n\n"); // before the server has ended the body
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toBe("data: two\n\n");
  });

  it("rejects, as fetch does, when a JSON answer is cut off before its declared length", async () => {
    const error = await nodeFetch(`${base}/cut`).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe("fetch failed");
  });

  it("errors a compressed stream whose connection dies mid-body instead of leaving it open", async () => {
    const response = await nodeFetch(`${base}/gzip-cut`, { headers: { "accept-encoding": "gzip" } });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: one\n\n");
    await expect(reader.read()).rejects.toThrow();
  });

  it("undoes several content codings, last applied first", async () => {
    const response = await nodeFetch(`${base}/layered`, { headers: { "accept-encoding": "gzip, br" } });
    expect(await response.json()).toEqual({ layers: 2 });
  });

  it("answers a 205 without a body, and fails (without crashing) on a status outside 200-599", async () => {
    const reset = await nodeFetch(`${base}/reset-content`, { method: "POST", body: "{}" });
    expect(reset.status).toBe(205);
    expect(reset.body).toBeNull();
    const odd = await nodeFetch(`${base}/odd-status`).catch((err: unknown) => err);
    expect(odd).toBeInstanceOf(TypeError);
    expect((odd as TypeError).message).toBe("fetch failed");
  });

  it("fails the call, not the process, when a streamed request body errors mid-upload", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("partial "));
        setTimeout(() => controller.error(new Error("client went away")), 10);
      },
    });
    const headers = { "content-length": "1000" }; // more than will ever come, as with a client that drops mid-upload
    const error = await nodeFetch(`${base}/json`, { method: "POST", headers, body, duplex: "half" } as RequestInit).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe("fetch failed");
  });

  it("answers a 204 without a body", async () => {
    const response = await nodeFetch(`${base}/empty`, { method: "DELETE" });
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
  });

  it("rejects with the signal's reason when aborted while waiting, and at once when already aborted", async () => {
    const controller = new AbortController();
    const pending = nodeFetch(`${base}/hang`, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("gave up")), 20);
    await expect(pending).rejects.toThrow("gave up");
    await expect(nodeFetch(`${base}/json`, { signal: AbortSignal.abort(new Error("too late")) })).rejects.toThrow("too late");
  });

  it("ends a streamed body with an error when aborted mid-stream", async () => {
    const controller = new AbortController();
    const response = await nodeFetch(`${base}/hang-stream`, { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort(new Error("client left"));
    // The signal's reason, as fetch does: callers tell an abort from an upstream failure by it.
    await expect(reader.read()).rejects.toThrow("client left");
  });

  it("lets go of the connection when a streamed body is cancelled, read or not", async () => {
    // A connection held on to would keep the upstream's stream open until the test times out.
    const closedAfter = async (cancel: (body: ReadableStream<Uint8Array>) => Promise<void>) => {
      const closed = new Promise<void>((resolve) => (watchedClosed = resolve));
      await cancel((await nodeFetch(`${base}/watched-stream`)).body!);
      await closed;
    };
    await closedAfter((body) => body.cancel()); // never read
    await closedAfter(async (body) => {
      const reader = body.getReader();
      await reader.read();
      await reader.cancel();
    });
  });

  it("reports a refused connection as fetch does: TypeError('fetch failed') with the cause", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await nodeFetch(`http://127.0.0.1:${port}/json`).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe("fetch failed");
    expect(((error as TypeError).cause as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });

  it("leaves Request objects and other URL schemes to the fallback fetch", async () => {
    const seen: string[] = [];
    const fallback = async (input: RequestInfo | URL) => {
      seen.push(input instanceof Request ? `request ${input.url}` : String(input));
      return new Response("fallback");
    };
    const withFallback = createNodeFetch({ fallback });
    await withFallback(new Request(`${base}/json`));
    await withFallback("data:text/plain,hi");
    expect(seen).toEqual([`request ${base}/json`, "data:text/plain,hi"]);
  });
});
