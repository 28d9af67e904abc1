// `npm run bench`: runs the overhead and best-of-N benchmarks, then draws bench/out/report.html from their JSON (and
// from selection.json when present). `--smoke`: a few seconds, tiny settings, bench/out/report-smoke.html.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { renderReport, type OverheadResults, type SelectionCell } from "./report-html";
import type { BestOfCell } from "./bestof";

const { values } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    /** Draw from the JSON already in bench/out without running anything (to restyle a report). */
    reuse: { type: "boolean", default: false },
    seconds: { type: "string", default: "5" },
  },
});
const smoke = values.smoke;
const out = smoke ? "bench/out/smoke" : "bench/out";
const files = {
  overhead: smoke ? "bench/out/overhead-smoke.json" : "bench/out/overhead.json",
  bestof: `${out}/bestof.json`,
  selection: "bench/out/selection.json",
  html: smoke ? "bench/out/report-smoke.html" : "bench/out/report.html",
};

let current: ReturnType<typeof spawn> | null = null;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    current?.kill(signal); // the benchmark kills its own servers on this signal
    process.exit(130);
  });
}

/** Runs one benchmark script as its own process, its tables going straight to this stdout. */
function run(script: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { stdio: "inherit" });
    current = child;
    child.once("exit", (code, signal) => {
      current = null;
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

const readJson = <T>(file: string): T | undefined => (existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as T) : undefined);

async function main(): Promise<number> {
  mkdirSync(out, { recursive: true });
  const failures: string[] = [];
  if (!values.reuse) {
    console.log(`## Pass-through overhead\n`);
    const overheadArgs = smoke ? ["--smoke"] : ["--seconds", values.seconds];
    if ((await run("bench/overhead.ts", overheadArgs)) !== 0) failures.push("bench/overhead.ts failed");
    console.log(`\n## Best-of-N latency\n`);
    // Smoke: two small N and short latencies, enough to exercise every tournament and the chart.
    const bestofArgs = smoke ? ["--n", "4,8", "--requests", "2", "--gen-min-ms", "20", "--gen-max-ms", "120", "--judge-ms", "20", "--out", out] : ["--out", out];
    if ((await run("bench/bestof.ts", bestofArgs)) !== 0) failures.push("bench/bestof.ts failed");
  }
  // A run that failed may have left the last run's JSON in place: a report drawn from it would look like this run's.
  if (failures.length > 0) {
    console.error(`report: not drawn, ${failures.join("; ")}`);
    return 1;
  }
  const overhead = readJson<OverheadResults>(files.overhead);
  if (!overhead) {
    console.error(`report: ${files.overhead} is missing`);
    return 1;
  }
  const bestof = readJson<{ settings: Record<string, unknown>; cells: BestOfCell[] }>(files.bestof);
  const selection = readJson<{ cells: SelectionCell[] }>(files.selection)?.cells;
  writeFileSync(files.html, renderReport({ overhead, bestof, selection }));
  console.log(`\nreport: ${files.html}${selection ? "" : " (no selection.json: run npm run bench:selection to add it)"}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`report: ${(err as Error)?.stack ?? err}`);
    process.exit(1);
  },
);
