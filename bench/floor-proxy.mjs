// The floor of bench/overhead.ts: the least a Node proxy can do for a chat completion, as a reference path next to
// verdict and Portkey. It reads the request, sends it to the upstream over a keep-alive node:http agent, and pipes the
// answer back with its status and content type: no checks, no retries, no timeouts, no logs, no metrics. What it
// adds over going direct is what Node's HTTP server and client cost on this machine, before any proxy logic.
//
// Usage: node bench/floor-proxy.mjs <upstream base URL, e.g. http://127.0.0.1:PORT/v1>. Listens on 127.0.0.1 and a
// free port, and says which on stdout.
import http from "node:http";

const upstream = new URL(process.argv[2] ?? "");
if (upstream.protocol !== "http:") throw new Error("usage: node bench/floor-proxy.mjs http://127.0.0.1:PORT/v1");
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const prefix = upstream.pathname.replace(/\/$/, "");

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const headers = { "content-type": req.headers["content-type"] ?? "application/json", "content-length": body.length };
    const path = `${prefix}${(req.url ?? "/").replace(/^\/v1/, "")}`;
    const call = http.request({ agent, host: upstream.hostname, port: upstream.port, path, method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { "content-type": answer.headers["content-type"] ?? "application/octet-stream" });
      answer.pipe(res);
    });
    call.on("error", () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    call.end(body);
  });
});
server.listen(0, "127.0.0.1", () => console.log(`floor proxy listening on http://127.0.0.1:${server.address().port}/v1`));
