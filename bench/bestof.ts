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

/** The earliest a knockout can end: always merge the two contestants ready first (optimal for this cost model). */
export function knockoutFloor(arrivals: number[], judgeMs: number): number {
  const ready = [...arrivals].sort((a, b) => a - b);
  while (ready.length > 1) {
    const merged = Math.max(ready.shift()!, ready.shift()!) + judgeMs;
    ready.splice(ready.findIndex((t) => t > merged) === -1 ? ready.length : ready.findIndex((t) => t > merged), 0, merged);
  }
  return ready[0] ?? 0;
}

/** Round-robin, and a knockout with a round-robin finale: nothing can end before one judge call after the last arrival. */
export const roundRobinFloor = (arrivals: number[], judgeMs: number) => Math.max(...arrivals) + judgeMs;

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
      const oneRound = tournament === "round_robin" || tournament === "knockout+finale";
      const floor = oneRound ? roundRobinFloor(arrivals, latency.judgeMs) : knockoutFloor(arrivals, latency.judgeMs);
      return { wall, floor, judgeCalls: mine.filter((q) => q.role === "judge").length };
    }),
  );
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const wall = mean(runs.map((r) => r.wall));
  const floor = mean(runs.map((r) => r.floor));
  return { n, tournament, pipelined, requests, wall_ms: wall, floor_ms: floor, ratio: mean(runs.map((r) => r.wall / r.floor)), judge_calls: mean(runs.map((r) => r.judgeCalls)) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: "string", default: "4,8,16" },
      tournaments: { type: "string", default: "knockout,knockout+finale,round_robin,auto" },
      requests: { type: "string", default: "12" },
      "gen-min-ms": { type: "string", default: "200" },
      "gen-max-ms": { type: "string", default: "1500" },
      "judge-ms": { type: "string", default: "300" },
      out: { type: "string", default: "bench/out" },
    },
  });
  const latency = { genMin: Number(values["gen-min-ms"]), genSpread: Number(values["gen-max-ms"]) - Number(values["gen-min-ms"]), judgeMs: Number(values["judge-ms"]) };
  const cells: BestOfCell[] = [];
  for (const n of values.n.split(",").map(Number)) {
    for (const tournament of values.tournaments.split(",")) {
      for (const pipelined of [true, false]) cells.push(await runBestOfCell(n, tournament, pipelined, Number(values.requests), latency));
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

if (process.argv[1]?.endsWith("bestof.ts")) void main();
