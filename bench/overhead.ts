// Pass-through overhead: the same chat requests sent straight to the simulator, through verdict (n = 1) and through
// the Portkey AI gateway, each server its own process on 127.0.0.1, load from autocannon in another process,
// interleaved in short rounds so machine noise hits all three alike. `npm run bench:overhead` (-- --smoke: seconds).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { parseArgs } from "node:util";
import { startVerdictProcess } from "./verdict-process";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "4" },
    rounds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "1,16,64" },
    smoke: { type: "boolean", default: false },
    out: { type: "string", default: "bench/out" },
  },
});
const seconds = values.smoke ? 1 : Number(values.seconds);
const rounds = values.smoke ? 1 : Number(values.rounds);
const levels = values.smoke ? [1, 16] : values.concurrency.split(",").map(Number);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function startProcess(args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_ENV: "production" } });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(" ")} did not start`)), 30_000);
    child.stdout!.setEncoding("utf8").on("data", (text: string) => ready.test(text) && (clearTimeout(timer), resolve(child)));
    child.once("exit", (code) => reject(new Error(`${args[0]} exited early (${code})`)));
  });
}

const simPort = await freePort();
const sim = await startProcess(["--import", "tsx", "src/cli.ts", "sim", "--port", String(simPort)], /listening/);
const simUrl = `http://127.0.0.1:${simPort}/v1`;
const verdict = await startVerdictProcess({ generator: { base_url: simUrl }, judge: { model: "sim-judge" } });
const portkeyPort = await freePort();
// Portkey's Node server binds every interface (it has no host option); the load below only ever targets 127.0.0.1.
const portkey = await startProcess(["node_modules/@portkey-ai/gateway/build/start-server.js", `--port=${portkeyPort}`, "--headless"], /Ready for connections|running at/);

const chat = { model: "sim-generator", messages: [{ role: "user", content: "Say something short." }] };
const paths = {
  direct: { url: `${simUrl}/chat/completions`, headers: {} as Record<string, string> },
  verdict: { url: `${verdict.url}/chat/completions`, headers: { "x-verdict-n": "1" } },
  portkey: {
    url: `http://127.0.0.1:${portkeyPort}/v1/chat/completions`,
    headers: { "x-portkey-provider": "openai", "x-portkey-custom-host": simUrl, authorization: "Bearer unused" },
  },
};
type PathName = keyof typeof paths;

interface Sample { requests: number; errors: number; non2xx: number; reqPerSec: number; mean: number; p50: number; p99: number }

/** One autocannon run in its own process: the load generator never shares an event loop with a server. */
function cannon(path: PathName, stream: boolean, connections: number): Promise<Sample> {
  const { url, headers } = paths[path];
  const body = JSON.stringify(stream ? { ...chat, stream: true } : chat);
  const args = ["node_modules/autocannon/autocannon.js", "--json", "-c", String(connections), "-d", String(seconds), "-m", "POST", "-b", body, "-H", "content-type=application/json"];
  for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}=${value}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (out += text));
    child.once("exit", () => {
      try {
        const r = JSON.parse(out);
        resolve({ requests: r.requests.total, errors: r.errors, non2xx: r.non2xx, reqPerSec: r.requests.average, mean: r.latency.average, p50: r.latency.p50, p99: r.latency.p99 });
      } catch {
        reject(new Error(`autocannon gave no result for ${path}`));
      }
    });
  });
}

const results: Record<string, Sample[]> = {};
try {
  for (const stream of [false, true]) {
    for (const c of levels) {
      for (let round = 0; round < rounds; round++) {
        for (const path of Object.keys(paths) as PathName[]) {
          const key = `${stream ? "stream" : "json"}|${c}|${path}`;
          (results[key] ??= []).push(await cannon(path, stream, c));
        }
      }
    }
  }
} finally {
  for (const child of [sim, portkey]) child.kill("SIGTERM");
  await verdict.stop();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: Record<string, number | string>[] = [];
let failed = 0;
for (const [key, samples] of Object.entries(results)) {
  const [mode, c, path] = key.split("|");
  // Only our own paths can fail this benchmark: the peer's failures are reported, not ours to fix.
  if (path !== "portkey") failed += samples.reduce((n, s) => n + s.errors + s.non2xx, 0);
  rows.push({ mode: mode!, concurrency: Number(c), path: path!, req_per_s: median(samples.map((s) => s.reqPerSec)), mean_ms: median(samples.map((s) => s.mean)), p50_ms: median(samples.map((s) => s.p50)), p99_ms: median(samples.map((s) => s.p99)), errors: samples.reduce((n, s) => n + s.errors + s.non2xx, 0) });
}
// autocannon reports percentiles in whole milliseconds; the mean keeps its decimals, so sub-millisecond overhead shows there.
console.log("| mode | conc. | path | req/s | mean ms | p50 ms | p99 ms | added mean | added p50 | added p99 | errors |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const row of rows) {
  const direct = rows.find((r) => r.mode === row.mode && r.concurrency === row.concurrency && r.path === "direct")!;
  const added = (field: "mean_ms" | "p50_ms" | "p99_ms") => (row.path === "direct" ? "" : ((row[field] as number) - (direct[field] as number)).toFixed(2));
  const mean = (row.mean_ms as number).toFixed(2);
  console.log(`| ${row.mode} | ${row.concurrency} | ${row.path} | ${(row.req_per_s as number).toFixed(0)} | ${mean} | ${row.p50_ms} | ${row.p99_ms} | ${added("mean_ms")} | ${added("p50_ms")} | ${added("p99_ms")} | ${row.errors} |`);
}
mkdirSync(values.out, { recursive: true });
writeFileSync(`${values.out}/overhead.json`, JSON.stringify({ seconds, rounds, rows }, null, 2));
console.log(`\n${seconds} s per run, ${rounds} interleaved rounds per cell (median shown), autocannon in its own process`);
const peerFailures = rows.filter((r) => r.path === "portkey").reduce((n, r) => n + (r.errors as number), 0);
if (peerFailures > 0) console.log(`Portkey answered ${peerFailures} requests with an error (its streaming path fails on this Node; see bench/README.md)`);
if (failed > 0) {
  console.error(`${failed} requests failed on the direct or verdict path`);
  process.exitCode = 1;
}
