// bench:load's traffic, shared by bench/load.ts and bench/ab-load.ts: the simulator's pace, verdict's settings, and
// clients sending best-of-4 requests one after another, with the server's CPU read from /proc around them.
import type { SimOptionsInput } from "../test/sim/options";
import { cpuMs, mainThreadCpuMs } from "./proc";

/** A model-like pace: candidates take ~80 ms, a judgment ~30 ms, so each request spends most of its life waiting. */
export const LOAD_SIMULATOR: SimOptionsInput = {
  record_requests: false,
  generator: { latency: { ttft_ms: 60, tokens_per_second: 4_000, jitter: 0.3 } },
  judge: { accuracy: 0.9, bias: 0.05, latency: { ttft_ms: 30, jitter: 0.3 } },
};

/** verdict's config for the load: queues deep enough that none of this traffic is refused. */
export function loadConfig(simUrl: string): Record<string, unknown> {
  return {
    generator: { base_url: simUrl, concurrency: 1_024, max_queued: 10_000 },
    judge: { model: "sim-judge", concurrency: 1_024, max_queued: 10_000 },
  };
}

const PARAGRAPH = "The report describes how the system was measured, which parts were slow and what was changed. ";

/** A document of `chars` characters (a command-line value, at most a million) for every conversation, as a RAG client sends; none for 0. */
export function loadDocument(chars: string | number | undefined): string {
  const length = Math.max(0, Math.min(Number(chars) || 0, 1_000_000));
  return PARAGRAPH.repeat(Math.ceil(length / PARAGRAPH.length)).slice(0, length);
}

let sequence = 0;
function requestBody(document: string, stream: boolean): string {
  return JSON.stringify({
    ...(stream ? { stream: true } : {}),
    model: "sim-generator",
    // A new prompt each time: every request draws new candidates and pays for its judging (no cache hits).
    messages: [
      ...(document ? [{ role: "system", content: `Answer from this document.\n\n${document}` }] : []),
      { role: "user", content: `load request ${sequence++}: explain one idea` },
    ],
    verdict: { n: 4 },
  });
}

export interface Measured {
  wall: number;
  latencies: number[];
  judgeCalls: number;
  failures: number;
  cpuMs: number;
  mainThreadCpuMs: number;
}

export interface Traffic {
  concurrency: number;
  seconds: number;
  /** Traffic first, unmeasured, so that start-up (compiling, growing the heap) weighs on no figure. */
  warmUpSeconds: number;
  document: string;
  /** Clients ask for the answer as a stream (read to its end) instead of one JSON body. */
  stream: boolean;
}

type Verdict = { judge?: { calls?: number } } | undefined;

/** The `verdict` a reranked answer carries: on the completion, or on the last chunk with choices of a stream. */
async function verdictOf(response: Response, stream: boolean): Promise<Verdict> {
  if (!stream) return ((await response.json()) as { verdict?: Verdict }).verdict;
  const text = await response.text();
  if (!text.includes("data: [DONE]")) return undefined; // cut off before its end
  const events = text.split("\n\n").filter((event) => event.startsWith("data: {"));
  const chunks = events.map((event) => JSON.parse(event.slice("data: ".length)) as { verdict?: Verdict; error?: unknown });
  return chunks.some((chunk) => chunk.error !== undefined) ? undefined : chunks.find((chunk) => chunk.verdict !== undefined)?.verdict;
}

/** `concurrency` clients sending best-of-4 requests to `url`, one after another each, for `seconds`. */
async function drive(url: string, { concurrency, document, stream }: Traffic, seconds: number, run: Measured): Promise<void> {
  const until = Date.now() + seconds * 1_000;
  const client = async () => {
    while (Date.now() < until) {
      const sent = performance.now();
      const response = await fetch(`${url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: requestBody(document, stream) });
      const verdict = await verdictOf(response, stream);
      if (!response.ok || !verdict) run.failures += 1;
      else run.judgeCalls += verdict.judge?.calls ?? 0;
      run.latencies.push(performance.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
}

const emptyRun = (): Measured => ({ wall: 0, latencies: [], judgeCalls: 0, failures: 0, cpuMs: 0, mainThreadCpuMs: 0 });

/** The traffic against `url` after its warm-up, with the CPU `pid` used meanwhile. */
export async function measureLoad(url: string, pid: number, traffic: Traffic): Promise<Measured> {
  await drive(url, traffic, traffic.warmUpSeconds, emptyRun());
  const run = emptyRun();
  const started = Date.now();
  const [cpuBefore, mainBefore] = [cpuMs(pid), mainThreadCpuMs(pid)];
  await drive(url, traffic, traffic.seconds, run);
  run.wall = (Date.now() - started) / 1_000;
  run.cpuMs = cpuMs(pid) - cpuBefore;
  run.mainThreadCpuMs = mainThreadCpuMs(pid) - mainBefore;
  return run;
}

/** A total over a run's requests, rounded to `digits`. */
export function perRequest(total: number, run: Measured, digits = 3): number {
  return +(total / Math.max(1, run.latencies.length)).toFixed(digits);
}
