// Soak: verdict (its own process) against the simulator with 10% of upstream calls faulted, under a steady request mix,
// on 127.0.0.1 only and bounded in time. `npm run bench:soak` (5 min), `npm run bench:soak -- --smoke` (a few seconds).
import { parseArgs } from "node:util";
import { startSimulator } from "../test/sim/start";
import { emptyTally, runLoad } from "./soak-load";
import { quantile } from "./stats";
import { startVerdictProcess } from "./verdict-process";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "300" },
    smoke: { type: "boolean", default: false },
    concurrency: { type: "string", default: "16" },
    "fault-rate": { type: "string", default: "0.1" },
    seed: { type: "string", default: "1" },
  },
});
const seconds = values.smoke ? 5 : Math.min(Number(values.seconds), 3600);
const concurrency = values.smoke ? 4 : Math.min(Number(values.concurrency), 256);
const faultRate = Number(values["fault-rate"]);
const seed = Number(values.seed);
const HOST = "127.0.0.1";
const BUDGET_MS = 8_000;
const GRACE_MS = 5_000;

const running = await startSimulator(
  {
    seed,
    record_requests: false,
    generator: { latency: { ttft_ms: 30, tokens_per_second: 2_000, jitter: 0.5 } },
    judge: { accuracy: 0.9, bias: 0.05, latency: { ttft_ms: 15, jitter: 0.5 } },
    faults: {
      generator: { rate: faultRate },
      judge: { rate: faultRate },
      hang_ms: 60_000, // longer than any timeout below: a hang is only ended by verdict giving up
      slow_first_byte_ms: 400,
      retry_after_ms: 300,
    },
  },
  0,
  HOST,
);

const config = {
  generator: { base_url: running.url, timeout_ms: 2_000, max_retries: 2 },
  judge: { model: "sim-judge", timeout_ms: 2_000, max_retries: 2 },
  timeouts: { request_ms: BUDGET_MS },
  retry: { base_delay_ms: 100, max_delay_ms: 1_000, max_retry_after_ms: 1_000 },
};
// verdict runs as its own process so its RSS is its own, not the simulator's or this load generator's.
const verdict = await startVerdictProcess(config, { nodeArgs: ["--expose-gc"], preload: ["./bench/soak-probe.mjs"] });
const url = verdict.url;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const probeLines = () => verdict.logText().split("\n").filter((line) => line.startsWith('{"probe"'));

/** verdict's heap after a forced GC, in MiB (bench/soak-probe.mjs answers SIGUSR2 with a line in the log). */
async function heapAfterGcMiB(): Promise<number> {
  const before = probeLines().length;
  verdict.signal("SIGUSR2");
  for (let waited = 0; waited < 10_000; waited += 20) {
    const lines = probeLines();
    if (lines.length > before) return +(JSON.parse(lines.at(-1)!).heap_used / 1048576).toFixed(1);
    await sleep(20);
  }
  throw new Error("verdict did not answer the heap probe within 10 s");
}

/** What verdict logged: request lines aside, warnings, unhandled errors, and a few lines that are not JSON at all. */
function logSummary(text: string) {
  const lines = text.split("\n").filter(Boolean);
  const summary = { lines: lines.length, unhandled: 0, warn: 0, max_listeners_warnings: 0 };
  const notJson: string[] = [];
  for (const line of lines) {
    if (line.startsWith('{"probe"')) continue;
    if (line.includes('"unhandled_error"')) summary.unhandled += 1;
    if (line.includes('"level":"warn"')) summary.warn += 1;
    else if (line.includes("MaxListenersExceededWarning")) summary.max_listeners_warnings += 1;
    else if (!line.startsWith("{") && !line.startsWith("verdict listening") && !line.includes("--trace-warnings") && notJson.length < 5) notJson.push(line.slice(0, 300));
  }
  return { summary, notJson };
}

// start: idle, just started; warm: 10% into the run (JIT and heap have grown to working size); then peak and end.
const rss = { start: verdict.rssMiB(), warm: 0, peak: 0, end: 0 };
const heap = { start: await heapAfterGcMiB(), warm: 0, end: 0 };
const warmAt = Date.now() + Math.max(3_000, seconds * 100);
const sampler = setInterval(() => {
  const now = verdict.rssMiB();
  rss.peak = Math.max(rss.peak, now);
  if (rss.warm === 0 && Date.now() >= warmAt) {
    rss.warm = now;
    void heapAfterGcMiB().then((mib) => (heap.warm = mib));
  }
}, 1_000);
const tally = emptyTally();
const started = Date.now();
console.log(`soak: ${seconds} s, ${concurrency} clients, fault rate ${faultRate} per upstream call, verdict at ${url}`);
await runLoad({ url, until: started + seconds * 1_000, concurrency, budgetMs: BUDGET_MS, graceMs: GRACE_MS, seed }, tally);
const wallSeconds = (Date.now() - started) / 1_000;
clearInterval(sampler);
rss.end = verdict.rssMiB();
heap.end = await heapAfterGcMiB(); // in-flight requests have all been answered: what is left is retained state
rss.peak = Math.max(rss.peak, rss.end);

await verdict.stop();
await running.close();
const { summary: logLines, notJson } = logSummary(verdict.logText());

const sorted = [...tally.latenciesMs].sort((a, b) => a - b);
const rounded = (q: number) => Math.round(quantile(sorted, q));
const answered = tally.outcomes.ok_200 + tally.outcomes.clean_error;
const report = {
  seconds: Math.round(wallSeconds),
  concurrency,
  fault_rate: faultRate,
  requests_sent: tally.sent,
  by_kind: tally.byKind,
  answered_200: tally.outcomes.ok_200,
  answered_clean_error: tally.outcomes.clean_error,
  hung: tally.outcomes.hung,
  lost: tally.outcomes.lost,
  verdict_5xx: tally.outcomes.verdict_5xx,
  bad_200: tally.outcomes.bad_200,
  unaccounted: tally.sent - answered - tally.outcomes.hung - tally.outcomes.lost - tally.outcomes.verdict_5xx - tally.outcomes.bad_200,
  statuses: tally.statuses,
  error_codes: tally.codes,
  latency_ms: { p50: rounded(0.5), p99: rounded(0.99), max: Math.round(sorted.at(-1) ?? 0) },
  budget_ms: BUDGET_MS,
  max_ms_past_budget_of_504s: Math.round(tally.maxOverBudgetMs),
  faults_injected: running.sim.faults,
  verdict_rss_mib: { start: +rss.start.toFixed(1), warm: +rss.warm.toFixed(1), peak: +rss.peak.toFixed(1), end: +rss.end.toFixed(1) },
  verdict_heap_after_gc_mib: heap,
  verdict_log_lines: logLines,
  examples: tally.examples,
  log_lines_not_json: notJson,
};
console.log(JSON.stringify(report, null, 2));
const failed = report.hung + report.lost + report.verdict_5xx + report.bad_200 + report.unaccounted + logLines.unhandled;
console.log(failed === 0 ? "soak: PASS" : "soak: FAIL (hung, lost, 5xx by verdict, bad 200s or unhandled errors above zero)");
process.exit(failed === 0 ? 0 : 1);
