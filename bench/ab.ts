// A/B of verdict's pass-through: two builds side by side on one zero-latency simulator, each its own process on
// 127.0.0.1, driven by wrk in alternating 1 s rounds; medians per side.
//
// Why: on a shared machine, runs made minutes apart differ by 20-40%, more than most single changes are worth. Two
// processes measured in alternating rounds share the machine's moods, so a difference of a few percent shows.
//
//   npm run bench:ab -- --a <git ref>                 A: that commit's bundle; B: this working tree's
//   npm run bench:ab -- --a <ref> --b <ref> --concurrency 1 --rounds 10 [--stream]
//   npm run bench:ab -- --a <ref> --n 4               best-of-4 instead of pass-through (CPU of the judging path)
//   npm run bench:ab -- --a HEAD --b HEAD --b-node-args=--no-parallel-scavenge   one build, B with more Node flags
//   npm run bench:ab -- --a HEAD --smoke              one round each: a CI-sized check that both sides answer
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { bundlesToCompare, sideLabel, sideNodeArgs } from "./bundle-of";
import { killChildren, runToExit } from "./children";
import { probe, requestBody, requestHeaders } from "./overhead-probe";
import { startSim } from "./overhead-servers";
import { mergeRounds, runWrk, writeScript } from "./overhead-wrk";
import { median, quantile } from "./stats";
import { startVerdictProcess } from "./verdict-process";

const { values } = parseArgs({
  options: {
    a: { type: "string" },
    b: { type: "string" },
    concurrency: { type: "string", default: "64" },
    rounds: { type: "string", default: "8" },
    stream: { type: "boolean", default: false },
    n: { type: "string", default: "1" },
    smoke: { type: "boolean", default: false },
    out: { type: "string", default: "bench/out" },
    "a-node-args": { type: "string", default: "" },
    "b-node-args": { type: "string", default: "" },
  },
});
if (!values.a) throw new Error("--a <git ref> is required (B is this working tree unless --b names a ref)");
const rounds = values.smoke ? 1 : Math.max(1, Math.min(50, Math.round(Number(values.rounds))));
const concurrency = values.smoke ? 4 : Math.max(1, Math.min(256, Math.round(Number(values.concurrency))));
const candidates = Math.max(1, Math.min(16, Math.round(Number(values.n))));
const nodeArgs = sideNodeArgs(values["a-node-args"], values["b-node-args"]);

interface SideRound {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  cpu_ms_per_request: number;
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "verdict-ab-"));
  try {
    const bundles = bundlesToCompare(values.a!, values.b, dir);
    const sim = await startSim(dir);
    const config = { generator: { base_url: sim.url }, judge: { model: "sim-judge" } };
    const side = (name: "A" | "B", bundle: string) => {
      mkdirSync(join(dir, name));
      return startVerdictProcess(config, { dir: join(dir, name), bundle, nodeArgs: nodeArgs[name] });
    };
    const sides = { A: await side("A", bundles.A), B: await side("B", bundles.B) };
    const headers = { ...requestHeaders(sim.url), "x-verdict-n": String(candidates) };
    for (const [name, running] of Object.entries(sides)) {
      const errors = candidates === 1 ? await probe({ name: "verdict", url: running.url }, sim.url) : await probeReranked(running.url, headers);
      if (errors.length > 0) throw new Error(`side ${name} answers wrongly:\n${errors.join("\n")}`);
    }
    const script = writeScript(dir, "ab", requestBody(values.stream), headers);
    const measure = async (name: "A" | "B"): Promise<SideRound> => {
      const running = sides[name];
      const cpuBefore = running.cpuMs();
      const round = await runWrk(`${running.url}/chat/completions`, script, concurrency, 1, join(dir, `wrk-${name}.log`));
      const cpu = running.cpuMs() - cpuBefore;
      const merged = mergeRounds([round]);
      if (merged.errors > 0) throw new Error(`side ${name}: ${merged.errors} errors under wrk`);
      return { rps: merged.rps, p50_ms: merged.p50_ms, p99_ms: merged.p99_ms, cpu_ms_per_request: cpu / Math.max(1, merged.requests) };
    };
    if (!values.smoke) for (const name of ["A", "B"] as const) await measure(name); // warm-up, discarded
    const results: Record<"A" | "B", SideRound[]> = { A: [], B: [] };
    for (let r = 0; r < rounds; r++) {
      // Alternate who goes first, so neither side always follows the other.
      const order = r % 2 === 0 ? (["A", "B"] as const) : (["B", "A"] as const);
      for (const name of order) results[name].push(await measure(name));
    }
    const summary = Object.fromEntries(
      (["A", "B"] as const).map((name) => [
        name,
        {
          bundle: sideLabel(name, values.a!, values.b, nodeArgs[name]),
          rps: median(results[name].map((r) => r.rps)),
          p50_ms: median(results[name].map((r) => r.p50_ms)),
          p99_ms: median(results[name].map((r) => r.p99_ms)),
          cpu_ms_per_request: median(results[name].map((r) => r.cpu_ms_per_request)),
        },
      ]),
    );
    console.log(`| side | build | req/s | p50 ms | p99 ms | CPU ms/req |\n| --- | --- | --- | --- | --- | --- |`);
    for (const [name, s] of Object.entries(summary)) {
      console.log(`| ${name} | ${s.bundle} | ${s.rps.toFixed(0)} | ${s.p50_ms.toFixed(2)} | ${s.p99_ms.toFixed(2)} | ${s.cpu_ms_per_request.toFixed(3)} |`);
    }
    // Each round of B against the round of A next to it: the machine's swings hit both, so the ratios spread less than
    // either side's figures. Their quartiles say how far to trust the medians above.
    const paired = (pick: (r: SideRound) => number) => {
      const ratios = results.A.map((a, i) => pick(results.B[i]!) / pick(a)).sort((x, y) => x - y);
      return { median: median(ratios), q1: quantile(ratios, 0.25), q3: quantile(ratios, 0.75) };
    };
    const ratios = { rps: paired((r) => r.rps), cpu_ms_per_request: paired((r) => r.cpu_ms_per_request) };
    const show = (r: { median: number; q1: number; q3: number }) => `${r.median.toFixed(2)} (quartiles ${r.q1.toFixed(2)}-${r.q3.toFixed(2)})`;
    console.log(`\nB/A per pair of rounds: req/s ${show(ratios.rps)}, CPU per request ${show(ratios.cpu_ms_per_request)}`);
    const what = candidates === 1 ? "pass-through" : `best-of-${candidates}`;
    console.log(`medians of ${rounds} alternating round(s) of 1 s per side; ${what}, ${values.stream ? "streaming" : "non-streaming"}, concurrency ${concurrency}`);
    mkdirSync(values.out, { recursive: true });
    const record = { concurrency, candidates, rounds, stream: values.stream, node_args: nodeArgs, summary, ratios, results };
    writeFileSync(join(values.out, values.smoke ? "ab-smoke.json" : "ab.json"), JSON.stringify(record, null, 2));
    return 0;
  } finally {
    killChildren();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A best-of-N answer must come back reranked: 200, a completion, and the verdict object saying how it was chosen. */
async function probeReranked(url: string, headers: Record<string, string>): Promise<string[]> {
  const response = await fetch(`${url}/chat/completions`, { method: "POST", headers, body: JSON.stringify(requestBody(false)) });
  const text = await response.text();
  if (response.status !== 200) return [`status ${response.status}: ${text.slice(0, 200)}`];
  const body = JSON.parse(text) as { object?: unknown; verdict?: unknown };
  if (body.object !== "chat.completion" || body.verdict === undefined) return [`not a reranked completion: ${text.slice(0, 200)}`];
  return [];
}

runToExit(main);
