// Load: many concurrent best-of-4 requests against verdict (its own process) with the simulator as upstream, on
// 127.0.0.1, bounded in time. Reports req/s, latency, judge calls, verdict's peak RSS and its CPU time per request.
// `npm run bench:load` (200 clients, 60 s); `-- --smoke` (a few seconds); `-- --document 20000` puts a document of that
// many characters in every request's conversation, as a RAG client would (each judgment shows the conversation).
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startSimulator } from "../test/sim/start";
import { quantile } from "./stats";
import { startVerdictProcess } from "./verdict-process";

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
const documentChars = Math.max(0, Math.min(Number(values.document) || 0, 1_000_000));
const PARAGRAPH = "The report describes how the system was measured, which parts were slow and what was changed. ";
const document = PARAGRAPH.repeat(Math.ceil(documentChars / PARAGRAPH.length)).slice(0, documentChars);

// A model-like pace: candidates take ~80 ms, a judgment ~30 ms, so each request spends most of its life waiting.
const sim = await startSimulator({
  record_requests: false,
  generator: { latency: { ttft_ms: 60, tokens_per_second: 4_000, jitter: 0.3 } },
  judge: { accuracy: 0.9, bias: 0.05, latency: { ttft_ms: 30, jitter: 0.3 } },
});
const verdict = await startVerdictProcess(
  {
    generator: { base_url: sim.url, concurrency: 1_024, max_queued: 10_000 },
    judge: { model: "sim-judge", concurrency: 1_024, max_queued: 10_000 },
  },
  { env: { LOG_LEVEL: "warn" } },
);

let sequence = 0;
const latencies: number[] = [];
let judgeCalls = 0;
let failures = 0;
const body = () =>
  JSON.stringify({
    model: "sim-generator",
    // A new prompt each time: every request draws new candidates and pays for its judging (no cache hits).
    messages: [
      ...(document ? [{ role: "system", content: `Answer from this document.\n\n${document}` }] : []),
      { role: "user", content: `load request ${sequence++}: explain one idea` },
    ],
    verdict: { n: 4 },
  });

async function client(until: number): Promise<void> {
  while (Date.now() < until) {
    const started = performance.now();
    const response = await fetch(`${verdict.url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: body() });
    const answer = (await response.json()) as { verdict?: { judge?: { calls?: number } } };
    if (!response.ok || !answer.verdict) failures += 1;
    else judgeCalls += answer.verdict.judge?.calls ?? 0;
    latencies.push(performance.now() - started);
  }
}

try {
  const cpuBefore = verdict.cpuMs();
  const mainBefore = verdict.mainThreadCpuMs();
  const started = Date.now();
  await Promise.all(Array.from({ length: concurrency }, () => client(started + seconds * 1_000)));
  const wall = (Date.now() - started) / 1_000;
  const cpu = verdict.cpuMs() - cpuBefore;
  const mainThread = verdict.mainThreadCpuMs() - mainBefore;
  const sorted = latencies.sort((a, b) => a - b);
  const report = {
    seconds: +wall.toFixed(1),
    concurrency,
    document_chars: documentChars,
    requests: latencies.length,
    failures,
    req_per_s: +(latencies.length / wall).toFixed(1),
    p50_ms: +quantile(sorted, 0.5).toFixed(1),
    p99_ms: +quantile(sorted, 0.99).toFixed(1),
    judge_calls: judgeCalls,
    judge_calls_per_request: +(judgeCalls / Math.max(1, latencies.length)).toFixed(2),
    verdict_peak_rss_mib: +verdict.peakRssMiB().toFixed(1),
    verdict_cpu_ms_per_request: +(cpu / Math.max(1, latencies.length)).toFixed(3),
    // The target is the whole process's; its main thread's part shows what V8's helper threads (garbage collection) add.
    verdict_main_thread_cpu_ms_per_request: +(mainThread / Math.max(1, latencies.length)).toFixed(3),
  };
  console.log("| metric | value |\n| --- | --- |");
  for (const [key, value] of Object.entries(report)) console.log(`| ${key} | ${value} |`);
  mkdirSync(values.out, { recursive: true });
  writeFileSync(`${values.out}/load.json`, JSON.stringify(report, null, 2));
  if (failures > 0) process.exitCode = 1;
} finally {
  await verdict.stop();
  await sim.close();
}
