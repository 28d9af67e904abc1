// A stand-in OTLP/HTTP collector on loopback for the workers project: it keeps the spans POSTed to /v1/traces and lists
// them at GET /collected, so a test inside workerd can see what the worker exported.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

interface CollectedSpan {
  name: string;
  traceId: string;
}

interface OtlpBody {
  resourceSpans?: { scopeSpans?: { spans?: CollectedSpan[] }[] }[];
}

export function startCollector(): Promise<{ url: string; close(): Promise<void> }> {
  const spans: CollectedSpan[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.method === "POST" && request.url === "/v1/traces") {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as OtlpBody;
        for (const resource of body.resourceSpans ?? []) {
          for (const scope of resource.scopeSpans ?? []) spans.push(...(scope.spans ?? []).map(({ name, traceId }) => ({ name, traceId })));
        }
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      } else if (request.method === "GET" && request.url === "/collected") {
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ spans }));
      } else response.writeHead(404).end();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}
