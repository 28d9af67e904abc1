// Load: many concurrent best-of-4 requests against verdict (its own process) with the simulator as upstream, on
// 127.0.0.1, bounded in time. Reports req/s, latency, judge calls, verdict's peak RSS and its CPU time per request,
// then the CPU time per request of a floor that makes the same upstream calls and nothing else (bench/floor-bestof.mjs).
// `npm run bench:load` (200 clients, 60 s); `-- --smoke` (a few seconds); `-- --document 20000` puts a document of that
// many characters in every request's conversation, as a RAG client would (each judgment shows the conversation).
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PAIRWISE_RESPONSE_FORMAT } from "../src/judge/pairwise-prompt";
import { startSimulator } from "../test/sim/start";
import { startListening } from "./children";
import { LOAD_SIMULATOR, loadConfig, loadDocument, measureLoad, perRequest } from "./load-traffic";
import { quantile } from "./stats";
import { startCommand, startVerdictProcess } from "./verdict-process";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    concurrency: { type: "string", default: "200" },
    smoke: { type: "boolean", default: false },
    document: { type: "string", default: "0" },
    out: { type: "string", default: "bench/out" },
  },
});
const seconds = values.smoke ? 3 : Math.min(Number(values.seconds), 600);
const concurrency = values.smoke ? 10 : Math.min(Number(values.concurrency), 1_000);
/** The floor's run (below) is shorter: its figures settle sooner, having less to collect. */
const floorSeconds = values.smoke ? 2 : Math.max(5, Math.round(seconds / 3));
// Each side gets the same few seconds of traffic first, unmeasured.
const traffic = { concurrency, seconds, warmUpSeconds: values.smoke ? 1 : 3, document: loadDocument(values.document), stream: false };

const sim = await startSimulator(LOAD_SIMULATOR);
const verdict = await startVerdictProcess(loadConfig(sim.url), { env: { LOG_LEVEL: "warn" } });

/**
 * The floor (bench/floor-bestof.mjs): the same upstream calls with none of verdict's work, run with npm start's Node
 * flags, so the report shows what part of verdict's CPU is its own.
 */
async function startFloor(): Promise<{ url: string; pid: number; stop(): void }> {
  const log = join(mkdtempSync(join(tmpdir(), "verdict-floor-")), "floor.log");
  const format = JSON.stringify(PAIRWISE_RESPONSE_FORMAT);
  const { url, child } = await startListening([...startCommand(false).nodeFlags, "bench/floor-bestof.mjs", sim.url, format], log, "floor best-of-4");
  return { url, pid: child.pid!, stop: () => void child.kill("SIGTERM") };
}

try {
  const run = await measureLoad(verdict.url, verdict.pid, traffic);
  const peakRss = verdict.peakRssMiB();
  await verdict.stop();
  const floor = await startFloor();
  const floorRun = await measureLoad(floor.url, floor.pid, { ...traffic, seconds: floorSeconds }).finally(floor.stop);
  const sorted = run.latencies.sort((a, b) => a - b);
  const cpuPerRequest = perRequest(run.cpuMs, run);
  const floorCpuPerRequest = perRequest(floorRun.cpuMs, floorRun);
  const report = {
    seconds: +run.wall.toFixed(1),
    concurrency,
    document_chars: traffic.document.length,
    requests: run.latencies.length,
    failures: run.failures,
    req_per_s: +(run.latencies.length / run.wall).toFixed(1),
    p50_ms: +quantile(sorted, 0.5).toFixed(1),
    p99_ms: +quantile(sorted, 0.99).toFixed(1),
    judge_calls: run.judgeCalls,
    judge_calls_per_request: perRequest(run.judgeCalls, run, 2),
    verdict_peak_rss_mib: +peakRss.toFixed(1),
    verdict_cpu_ms_per_request: cpuPerRequest,
    // The target is the whole process's; its main thread's part shows what V8's helper threads (garbage collection) add.
    verdict_main_thread_cpu_ms_per_request: perRequest(run.mainThreadCpuMs, run),
    floor_seconds: +floorRun.wall.toFixed(1),
    floor_requests: floorRun.latencies.length,
    floor_failures: floorRun.failures,
    floor_judge_calls_per_request: perRequest(floorRun.judgeCalls, floorRun, 2),
    floor_cpu_ms_per_request: floorCpuPerRequest,
    verdict_cpu_over_floor: +(cpuPerRequest / Math.max(0.001, floorCpuPerRequest)).toFixed(2),
  };
  console.log("| metric | value |\n| --- | --- |");
  for (const [key, value] of Object.entries(report)) console.log(`| ${key} | ${value} |`);
  mkdirSync(values.out, { recursive: true });
  writeFileSync(`${values.out}/load.json`, JSON.stringify(report, null, 2));
  if (run.failures > 0 || floorRun.failures > 0) process.exitCode = 1;
} finally {
  await verdict.stop();
  await sim.close();
}
