// Best-of-N latency: wall time per request against the critical-path floor (the slowest candidate plus the judge
// rounds that must follow it), pipelined and not. In-process (no sockets), bounded. `npm run bench:bestof -- --help`.
import { mkdirSync, writeFileSync } from "node:fs";
import "../src/adapters/node"; // the same abort-listener bound as the server
import { parseArgs } from "node:util";
import { SCOPE_CLOSED } from "../src/budget";
import { noCache } from "../src/cache/types";
import { createJudgeBackend, createJudgeUpstream } from "../src/judge/create";
import { resolveOptions } from "../src/options";
import { runPipeline, type PipelineDeps } from "../src/pipeline";
import { createUpstream } from "../src/upstream";
import { createSimulator } from "../test/sim/server";
import { fetchInto, testConfig } from "../test/helpers";
import { chatRequestSchema } from "../src/openai/chat";
import { FINALE_SIZE } from "../strategies/knockout";

/**
 * When each match of the quickest possible bracket ends, in the order they are played: always merge the two
 * contestants ready first, each merge one judge call later (optimal for this cost model).
 */
function bracketMerges(arrivals: number[], judgeMs: number): { ends: number[]; champion: number } {
  const ready = [...arrivals].sort((a, b) => a - b);
  const ends: number[] = [];
  while (ready.length > 1) {
    const merged = Math.max(ready.shift()!, ready.shift()!) + judgeMs;
    ends.push(merged);
    const later = ready.findIndex((t) => t > merged);
    ready.splice(later === -1 ? ready.length : later, 0, merged);
  }
  return { ends, champion: ready[0] ?? 0 };
}

/** The earliest a knockout can end. */
export const knockoutFloor = (arrivals: number[], judgeMs: number) => bracketMerges(arrivals, judgeMs).champion;

/** Round-robin: nothing can end before one judge call after the last arrival. */
export const roundRobinFloor = (arrivals: number[], judgeMs: number) => Math.max(...arrivals) + judgeMs;

/**
 * A knockout with a round-robin finale (strategies/knockout.ts): once every candidate is in, and the bracket has left
 * at most `finaleSize` contestants (matches in progress count their two), the finale plays every pair at once, one
 * judge call; fewer than three left then, and the bracket plays on to its final.
 */
export function finaleFloor(arrivals: number[], judgeMs: number, finaleSize = FINALE_SIZE): number {
  const last = Math.max(...arrivals);
  const { ends, champion } = bracketMerges(arrivals, judgeMs);
  if (arrivals.length - ends.filter((end) => end <= last).length < 3) return champion;
  const mergesNeeded = arrivals.length - finaleSize;
  const smallEnough = mergesNeeded <= 0 ? last : Math.max(last, [...ends].sort((a, b) => a - b)[mergesNeeded - 1]!);
  return smallEnough + judgeMs;
}

/** Tournament labels of this benchmark and the verdict options each one sends. */
const TOURNAMENT_OPTIONS: Record<string, Record<string, string>> = {
  knockout: { tournament: "knockout" },
  "knockout+finale": { tournament: "knockout", finale: "round_robin" },
  round_robin: { tournament: "round_robin" },
  auto: { tournament: "auto" },
};

export interface BestOfCell {
  n: number;
  tournament: string;
  pipelined: boolean;
  requests: number;
  wall_ms: number;
  floor_ms: number;
  ratio: number;
  /** Judge calls per request (a finale spends more than a plain knockout). */
  judge_calls: number;
}

export async function runBestOfCell(n: number, tournament: string, pipelined: boolean, requests: number, latency: { genMin: number; genSpread: number; judgeMs: number }): Promise<BestOfCell> {
  const sim = createSimulator({
    seed: n * 7 + requests,
    generator: { latency: { ttft_ms: latency.genMin, spread_ms: latency.genSpread } },
    judge: { latency: { ttft_ms: latency.judgeMs } },
  });
  const config = testConfig({ generator: { supports_n: false, concurrency: 1000 }, judge: { concurrency: 1000 } });
  const fetch = fetchInto(sim.app);
  const deps: PipelineDeps = {
    generator: createUpstream("generator", config.generator, fetch),
    judge: createJudgeBackend(config, createJudgeUpstream(config, fetch)),
    cache: noCache,
    nSupport: { value: false },
    onJudgeError: "fail_closed",
    collectFirst: !pipelined,
  };
  const runs = await Promise.all(
    Array.from({ length: requests }, async (_, r) => {
      // Delimited, so that request 1 does not also match the calls of requests 10-19.
      const prompt = `bestof request #${r}#`;
      const chosen = TOURNAMENT_OPTIONS[tournament];
      if (!chosen) throw new Error(`unknown tournament ${tournament}: one of ${Object.keys(TOURNAMENT_OPTIONS).join(", ")}`);
      const body = chatRequestSchema.parse({ model: "sim-generator", messages: [{ role: "user", content: prompt }], verdict: { n, ...chosen } });
      const options = resolveOptions(body, new Headers(), config);
      const { verdict: _v, ...forward } = body;
      const started = performance.now();
      // The request's scope, closed when it ends as withinBudget closes it in the app: work left behind ends with it.
      const scope = new AbortController();
      await runPipeline(forward, options, deps, scope).finally(() => scope.abort(SCOPE_CLOSED));
      const wall = performance.now() - started;
      const mine = sim.requests.filter((q) => JSON.stringify(q.body.messages).includes(prompt));
      const arrivals = mine.filter((q) => q.role === "generator").map((q) => q.delay_ms);
      const floorOf = tournament === "round_robin" ? roundRobinFloor : tournament === "knockout+finale" ? finaleFloor : knockoutFloor;
      const floor = floorOf(arrivals, latency.judgeMs);
      return { wall, floor, judgeCalls: mine.filter((q) => q.role === "judge").length };
    }),
  );
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const wall = mean(runs.map((r) => r.wall));
  const floor = mean(runs.map((r) => r.floor));
  return { n, tournament, pipelined, requests, wall_ms: wall, floor_ms: floor, ratio: mean(runs.map((r) => r.wall / r.floor)), judge_calls: mean(runs.map((r) => r.judgeCalls)) };
}

const USAGE = `npm run bench:bestof [-- options]
  --n 4,8,16                    candidates per request, each cell one N (2-16)
  --tournaments knockout,knockout+finale,round_robin,auto
  --requests 12                 concurrent requests per cell (1-100)
  --gen-min-ms 200 --gen-max-ms 1500   each candidate's latency, drawn uniformly (at most 10000)
  --judge-ms 300                each judge call's latency (at most 10000)
  --out bench/out               where bestof.json goes`;

/** A flag's number, or an error naming it: every run stays bounded in count and time. */
function bounded(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} ${text}: expected a whole number from ${min} to ${max}\n\n${USAGE}`);
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      help: { type: "boolean", default: false },
      n: { type: "string", default: "4,8,16" },
      tournaments: { type: "string", default: "knockout,knockout+finale,round_robin,auto" },
      requests: { type: "string", default: "12" },
      "gen-min-ms": { type: "string", default: "200" },
      "gen-max-ms": { type: "string", default: "1500" },
      "judge-ms": { type: "string", default: "300" },
      out: { type: "string", default: "bench/out" },
    },
  });
  if (values.help) return void console.log(USAGE);
  const genMin = bounded("gen-min-ms", values["gen-min-ms"], 0, 10_000);
  const latency = { genMin, genSpread: bounded("gen-max-ms", values["gen-max-ms"], genMin, 10_000) - genMin, judgeMs: bounded("judge-ms", values["judge-ms"], 0, 10_000) };
  const ns = values.n.split(",").map((n) => bounded("n", n, 2, 16));
  const requests = bounded("requests", values.requests, 1, 100);
  const tournaments = values.tournaments.split(",");
  const unknown = tournaments.find((tournament) => !Object.hasOwn(TOURNAMENT_OPTIONS, tournament));
  if (unknown !== undefined) throw new Error(`--tournaments: ${unknown} is not one of ${Object.keys(TOURNAMENT_OPTIONS).join(", ")}\n\n${USAGE}`);
  const cells: BestOfCell[] = [];
  for (const n of ns) {
    for (const tournament of tournaments) {
      for (const pipelined of [true, false]) cells.push(await runBestOfCell(n, tournament, pipelined, requests, latency));
    }
  }
  console.log("| N | tournament | pipelined | wall ms | floor ms | wall / floor | judge calls |\n| --- | --- | --- | --- | --- | --- | --- |");
  for (const c of cells) {
    console.log(`| ${c.n} | ${c.tournament} | ${c.pipelined ? "yes" : "no"} | ${c.wall_ms.toFixed(0)} | ${c.floor_ms.toFixed(0)} | ${c.ratio.toFixed(3)} | ${c.judge_calls.toFixed(1)} |`);
  }
  console.log(`\ncandidates ${values["gen-min-ms"]}-${values["gen-max-ms"]} ms (uniform), judge ${values["judge-ms"]} ms per call, ${values.requests} concurrent requests per cell, perfect judge (no rematches)`);
  mkdirSync(values.out, { recursive: true });
  writeFileSync(`${values.out}/bestof.json`, JSON.stringify({ settings: values, cells }, null, 2));
}

if (process.argv[1]?.endsWith("bestof.ts")) {
  main().catch((err: unknown) => {
    console.error(`bestof: ${(err as Error)?.message ?? err}`);
    process.exit(1);
  });
}
