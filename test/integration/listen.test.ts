// A server that cannot listen says which setting to change, as a config problem: not an unhandled error and a stack.
import { once } from "node:events";
import { Agent, createServer, get as httpGet, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import { hostInUrl, startProxy } from "../../src/adapters/node";
import { silentLogger as silent } from "../../src/app";
import { ConfigError } from "../../src/config";
import { testConfig } from "../helpers";

describe("listening", () => {
  it("names server.port when the port is taken, and server.host when the host is not this machine's", async () => {
    const first = await startProxy(testConfig({ server: { port: 0 } }), silent);
    try {
      const port = Number(new URL(first.url).port);
      const taken = await startProxy(testConfig({ server: { port } }), silent).catch((err: unknown) => err);
      expect(taken).toBeInstanceOf(ConfigError);
      expect((taken as ConfigError).problems).toEqual([`server.port: ${port} is already in use on 127.0.0.1`]);
      const elsewhere = await startProxy(testConfig({ server: { port: 0, host: "nonexistent.invalid" } }), silent).catch((err: unknown) => err);
      expect(elsewhere).toBeInstanceOf(ConfigError);
      expect((elsewhere as ConfigError).problems[0]).toMatch(/^server\.host: cannot listen on nonexistent\.invalid/);
    } finally {
      await first.close();
    }
  });
});

describe("the address it prints", () => {
  it("puts an IPv6 host in brackets, where its colons would read as a port", () => {
    expect(hostInUrl("::1")).toBe("[::1]");
    expect(new URL(`http://${hostInUrl("::")}:8787/v1`).port).toBe("8787");
    expect(hostInUrl("[::1]")).toBe("[::1]");
    expect(hostInUrl("127.0.0.1")).toBe("127.0.0.1");
    expect(hostInUrl("localhost")).toBe("localhost");
  });
});

describe("shutting down", () => {
  it("ends a kept-alive connection once its answer in flight is out, instead of waiting for it to time out", async () => {
    const proxy = await startProxy(testConfig({ server: { port: 0 } }), silent);
    const agent = new Agent({ keepAlive: true });
    try {
      // A request still uploading its body when the shutdown starts: in flight, on a kept-alive connection.
      const request = httpRequest(`${proxy.url}/v1/chat/completions`, { method: "POST", agent, headers: { "content-type": "application/json" } });
      const answered = new Promise<IncomingMessage>((resolve, reject) => request.on("response", resolve).on("error", reject));
      request.write('{"model":"m",');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = performance.now();
      const closing = proxy.close();
      request.end('"messages":[]}');
      const response = await answered;
      response.resume();
      expect(response.statusCode).toBe(400);
      // Its answer was being worked on when the shutdown began: it tells the client not to send another down it.
      expect(response.headers.connection).toBe("close");
      await closing;
      // The server's idle timeout for kept-alive connections is 5 s.
      expect(performance.now() - started).toBeLessThan(2_000);
    } finally {
      agent.destroy();
    }
  });

  it("does not wait for a connection that never sent a request, nor one halfway through its headers", async () => {
    const proxy = await startProxy(testConfig({ server: { port: 0 } }), silent);
    const { hostname, port } = new URL(proxy.url);
    const silentClient = connect(Number(port), hostname);
    const halfway = connect(Number(port), hostname);
    await Promise.all([once(silentClient, "connect"), once(halfway, "connect")]);
    halfway.write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await proxy.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    silentClient.destroy();
    halfway.destroy();
  });
});

describe("requests node:http cannot parse", () => {
  /** Sends `raw` on a fresh connection and reads until the server closes it. */
  async function rawExchange(url: string, raw: string): Promise<string> {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    let answer = "";
    socket.setEncoding("utf8").on("data", (chunk: string) => (answer += chunk));
    socket.on("error", () => undefined);
    await once(socket, "connect");
    socket.write(raw);
    await once(socket, "close");
    return answer;
  }

  it("answers in OpenAI's error shape with Node's status, and closes the connection", async () => {
    const proxy = await startProxy(testConfig({ server: { port: 0 } }), silent);
    try {
      const huge = await rawExchange(proxy.url, `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Junk: ${"a".repeat(20_000)}\r\n\r\n`);
      expect(huge).toMatch(/^HTTP\/1\.1 431 /);
      expect(huge).toMatch(/connection: close/i);
      expect(JSON.parse(huge.slice(huge.indexOf("\r\n\r\n") + 4)).error).toMatchObject({ type: "invalid_request_error", code: "headers_too_large" });
      const both = await rawExchange(proxy.url, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
      expect(both).toMatch(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(both.slice(both.indexOf("\r\n\r\n") + 4)).error).toMatchObject({ code: "malformed_request", param: null });
      // A fault found in the body, while the request is being read: still answered, its answer not yet begun.
      const badChunk = await rawExchange(proxy.url, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");
      expect(badChunk).toMatch(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(badChunk.slice(badChunk.indexOf("\r\n\r\n") + 4)).error).toMatchObject({ code: "malformed_request" });
    } finally {
      await proxy.close();
    }
  });
});

describe("a relayed download", () => {
  it("is cut off when its upstream stalls midway, without a raw line outside verdict's log", async () => {
    const upstream = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.write("abc"); // and then nothing
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
    const proxy = await startProxy(testConfig({ server: { port: 0 }, generator: { base_url: base, timeout_ms: 300 } }), silent);
    const printed: unknown[] = [];
    const consoleError = vi.spyOn(console, "error").mockImplementation((...line: unknown[]) => void printed.push(line));
    const consoleInfo = vi.spyOn(console, "info").mockImplementation((...line: unknown[]) => void printed.push(line));
    try {
      const outcome = await new Promise<{ body: string; ended: boolean }>((resolve, reject) => {
        httpGet(`${proxy.url}/v1/files/f/content`, (res) => {
          let body = "";
          let ended = false;
          res.setEncoding("utf8").on("data", (part: string) => (body += part));
          res.on("end", () => (ended = true));
          res.on("close", () => resolve({ body, ended }));
        }).on("error", reject);
      });
      // The client has what came and sees the answer cut short: no end of a complete body.
      expect(outcome).toEqual({ body: "abc", ended: false });
      await new Promise((settle) => setTimeout(settle, 50));
      expect(printed).toEqual([]);
    } finally {
      consoleError.mockRestore();
      consoleInfo.mockRestore();
      await proxy.close();
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });

  it("keeps the upstream's Content-Length, on GET and on HEAD, over a real socket", async () => {
    const bytes = Buffer.alloc(200_000, 7);
    const upstream = createServer((req, res) => {
      res.writeHead(200, { "content-type": "audio/mpeg", "content-length": String(bytes.length) });
      res.end(req.method === "HEAD" ? undefined : bytes);
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
    const proxy = await startProxy(testConfig({ server: { port: 0 }, generator: { base_url: base } }), silent);
    try {
      const got = await fetch(`${proxy.url}/v1/files/f/content`);
      expect(got.headers.get("content-length")).toBe(String(bytes.length));
      expect((await got.arrayBuffer()).byteLength).toBe(bytes.length);
      const head = await fetch(`${proxy.url}/v1/files/f/content`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-length")).toBe(String(bytes.length));
    } finally {
      await proxy.close();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });

  it("hands on a body in a coding it does not undo with its Content-Encoding, and a gzipped one decoded without", async () => {
    const raw = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4, 5]); // what zstd's frame looks like: left as it is
    const text = "a".repeat(10_000);
    const zipped = gzipSync(text);
    const upstream = createServer((req, res) => {
      const [coding, body] = req.url!.includes("zstd") ? ["zstd", raw] : ["gzip", zipped];
      res.writeHead(200, { "content-type": "application/octet-stream", "content-encoding": coding, "content-length": String(body.length) });
      res.end(body);
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
    const proxy = await startProxy(testConfig({ server: { port: 0 }, generator: { base_url: base } }), silent);
    const download = (path: string) =>
      new Promise<{ headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        httpGet(`${proxy.url}/v1/files/${path}/content`, (res) => {
          const parts: Buffer[] = [];
          res.on("data", (part: Buffer) => parts.push(part));
          res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
        }).on("error", reject);
      });
    try {
      const zstd = await download("zstd");
      expect(zstd.headers["content-encoding"]).toBe("zstd");
      expect(zstd.headers["content-length"]).toBe(String(raw.length));
      expect(zstd.body.equals(raw)).toBe(true);
      const gzip = await download("gzip");
      expect(gzip.headers["content-encoding"]).toBeUndefined();
      expect(gzip.headers["content-length"]).toBeUndefined();
      expect(gzip.body.toString()).toBe(text);
    } finally {
      await proxy.close();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});
