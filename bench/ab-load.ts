// A/B of two builds under bench:load's traffic: both run at the same time, each its own process on 127.0.0.1 with
// its own clients, against one simulator; each round starts both afresh, warms them up, then reads each one's CPU
// per best-of-4 from /proc.
//
// Why beside bench:ab: its zero-latency simulator ends requests within a millisecond, while under this traffic a
// request lives half a second and most of its cost is garbage collection of what it holds meanwhile. Measured at the
// same time, both builds share the machine's swings, which move one build's figures by a third from run to run here;
// a pair's ratio moved by a few percent.
//
//   npm run bench:ab-load -- --a <git ref>            A: that commit's bundle; B: this working tree's
//   npm run bench:ab-load -- --a <ref> --b <ref> --rounds 6 --seconds 20 --concurrency 150 [--document 20000] [--stream]
//   npm run bench:ab-load -- --a HEAD --b HEAD --b-node-args="--max-semi-space-size=24"   one build, B with more flags (= form: the value starts with -)
//   npm run bench:ab-load -- --a HEAD --smoke          one short round: a CI-sized check that both sides answer
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startSimulator } from "../test/sim/start";
import { bundlesToCompare, sideLabel, sideNodeArgs } from "./bundle-of";
import { killChildren, runToExit } from "./children";
import { LOAD_SIMULATOR, loadConfig, loadDocument, measureLoad, perRequest, type Measured } from "./load-traffic";
import { median, quantile } from "./stats";
import { startVerdictProcess, type VerdictProcess } from "./verdict-process";

const { values } = parseArgs({
  options: {
    a: { type: "string" },
    b: { type: "string" },
    rounds: { type: "string", default: "4" },
    seconds: { type: "string", default: "20" },
    concurrency: { type: "string", default: "150" },
    document: { type: "string", default: "0" },
    // Clients ask for streamed answers (SSE), read to the end.
    stream: { type: "boolean", default: false },
    // Node flags for one side on top of npm start's (space-separated), to see what a flag buys under this load.
    "a-node-args": { type: "string", default: "" },
    "b-node-args": { type: "string", default: "" },
    smoke: { type: "boolean", default: false },
    out: { type: "string", default: "bench/out" },
  },
});
if (!values.a) throw new Error("--a <git ref> is required (B is this working tree unless --b names a ref)");
const rounds = values.smoke ? 1 : Math.max(1, Math.min(20, Math.round(Number(values.rounds))));
const seconds = values.smoke ? 2 : Math.max(5, Math.min(120, Number(values.seconds)));
const warmUpSeconds = values.smoke ? 1 : 3;
// Per side: two sides and the simulator share the machine, so fewer clients each than bench:load's 200.
const concurrency = values.smoke ? 5 : Math.max(1, Math.min(500, Math.round(Number(values.concurrency))));
const document = loadDocument(values.document);
const nodeArgs = sideNodeArgs(values["a-node-args"], values["b-node-args"]);

interface SideRound {
  requests: number;
  failures: number;
  cpu_ms_per_request: number;
  main_thread_cpu_ms_per_request: number;
  peak_rss_mib: number;
}

function sideRound(run: Measured, side: VerdictProcess): SideRound {
  return {
    requests: run.latencies.length,
    failures: run.failures,
    cpu_ms_per_request: perRequest(run.cpuMs, run),
    main_thread_cpu_ms_per_request: perRequest(run.mainThreadCpuMs, run),
    peak_rss_mib: +side.peakRssMiB().toFixed(1),
  };
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "verdict-ab-load-"));
  const sim = await startSimulator(LOAD_SIMULATOR);
  try {
    const bundles = bundlesToCompare(values.a!, values.b, dir);
    const results: Record<"A" | "B", SideRound[]> = { A: [], B: [] };
    for (let r = 0; r < rounds; r++) {
      // Fresh processes each round (a heap grown in one round does not carry into the next), started in turn order.
      const order = r % 2 === 0 ? (["A", "B"] as const) : (["B", "A"] as const);
      const sides = {} as Record<"A" | "B", VerdictProcess>;
      for (const name of order) {
        const sideDir = join(dir, `${name}-${r}`);
        mkdirSync(sideDir);
        sides[name] = await startVerdictProcess(loadConfig(sim.url), { dir: sideDir, bundle: bundles[name], nodeArgs: nodeArgs[name], env: { LOG_LEVEL: "warn" } });
      }
      try {
        const traffic = { concurrency, seconds, warmUpSeconds, document, stream: values.stream! };
        const runs = await Promise.all(order.map((name) => measureLoad(sides[name].url, sides[name].pid, traffic)));
        order.forEach((name, i) => results[name].push(sideRound(runs[i]!, sides[name])));
      } finally {
        await Promise.all(order.map((name) => sides[name].stop()));
      }
      const [a, b] = [results.A.at(-1)!, results.B.at(-1)!];
      console.log(`round ${r + 1}: A ${a.cpu_ms_per_request} ms (${a.requests} requests), B ${b.cpu_ms_per_request} ms (${b.requests}), B/A ${(b.cpu_ms_per_request / a.cpu_ms_per_request).toFixed(3)}`);
    }
    const failures = results.A.concat(results.B).reduce((sum, r) => sum + r.failures, 0);
    if (failures > 0) throw new Error(`${failures} requests failed (see the rounds above)`);
    const ratios = results.A.map((a, i) => results.B[i]!.cpu_ms_per_request / a.cpu_ms_per_request).sort((x, y) => x - y);
    const ratio = { median: median(ratios), q1: quantile(ratios, 0.25), q3: quantile(ratios, 0.75), min: ratios[0]!, max: ratios.at(-1)! };
    const side = (name: "A" | "B") => ({
      bundle: sideLabel(name, values.a!, values.b, nodeArgs[name]),
      cpu_ms_per_request: median(results[name].map((r) => r.cpu_ms_per_request)),
      main_thread_cpu_ms_per_request: median(results[name].map((r) => r.main_thread_cpu_ms_per_request)),
      peak_rss_mib: Math.max(...results[name].map((r) => r.peak_rss_mib)),
    });
    const summary = { A: side("A"), B: side("B") };
    console.log(`| side | build | CPU ms/req | main thread | peak RSS MiB |\n| --- | --- | --- | --- | --- |`);
    for (const [name, s] of Object.entries(summary)) {
      console.log(`| ${name} | ${s.bundle} | ${s.cpu_ms_per_request.toFixed(3)} | ${s.main_thread_cpu_ms_per_request.toFixed(3)} | ${s.peak_rss_mib} |`);
    }
    console.log(
      `\nB/A CPU per request, per round: median ${ratio.median.toFixed(3)} (quartiles ${ratio.q1.toFixed(3)}-${ratio.q3.toFixed(3)}, ` +
        `range ${ratio.min.toFixed(3)}-${ratio.max.toFixed(3)}); ${rounds} round(s) of ${seconds} s, ${concurrency} clients per side` +
        (document ? `, a ${document.length}-character document per conversation` : "") +
        (values.stream ? ", streamed answers" : ""),
    );
    mkdirSync(values.out, { recursive: true });
    const record = { rounds, seconds, concurrency, document_chars: document.length, stream: values.stream, node_args: nodeArgs, summary, ratio, results };
    writeFileSync(join(values.out, values.smoke ? "ab-load-smoke.json" : "ab-load.json"), JSON.stringify(record, null, 2));
    return 0;
  } finally {
    killChildren();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

runToExit(main);
