// Where verdict's CPU goes, by function, with perf: verdict as `npm start` runs it (plus --perf-basic-prof) in front of
// the zero-latency simulator, wrk at a fixed concurrency, `perf record -e cpu-clock -g` on verdict's process meanwhile.
// bench/perf-samples.ts says how the samples are read and why not --cpu-prof.
//
//   npm run bench:perf                                   pass-through at concurrency 64, 8 s recorded
//   npm run bench:perf -- --n 4 --concurrency 32 [--stream] [--seconds 8] [--top 30]
//   npm run bench:perf -- --floor                        the floor proxy (bench/floor-proxy.mjs) the same way, to compare
//
// Needs perf (Debian's linux-perf) and wrk; Linux only. Figures are µs of CPU per request under perf, which slows the
// process a little: compare two builds with bench:ab, and read this for where the time goes.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { killChildren, runToExit } from "./children";
import { requestBody, requestHeaders } from "./overhead-probe";
import { startFloor, startSim, startVerdict } from "./overhead-servers";
import { mergeRounds, runWrk, wrkVersion, writeScript } from "./overhead-wrk";
import { attribute } from "./perf-samples";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "1" },
    stream: { type: "boolean", default: false },
    concurrency: { type: "string", default: "64" },
    seconds: { type: "string", default: "8" },
    top: { type: "string", default: "25" },
    floor: { type: "boolean", default: false },
  },
});
const candidates = Math.max(1, Math.min(16, Math.round(Number(values.n))));
const concurrency = Math.max(1, Math.min(256, Math.round(Number(values.concurrency))));
const seconds = Math.max(2, Math.min(60, Math.round(Number(values.seconds))));
const top = Math.max(1, Math.round(Number(values.top)));
if (values.floor && candidates > 1) throw new Error("--floor profiles the floor proxy, which only passes requests through: leave out --n");
const HZ = 2000;

function requirePerf(): void {
  try {
    execFileSync("perf", ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error("perf is not installed: bench:perf needs Debian's linux-perf (apt-get install -y linux-perf)");
  }
}

/** perf record on `pid` for `seconds`, at HZ, with call stacks; resolves when the recording is written. */
function record(pid: number, file: string): Promise<void> {
  const child = spawn("perf", ["record", "-g", "-e", "cpu-clock", "-F", String(HZ), "-p", String(pid), "-o", file, "--", "sleep", String(seconds)], { stdio: "ignore" });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`perf record exited ${code}`))));
  });
}

/** A Markdown table; `head` may name several columns ("a | b"), each row's name then holds as many cells. */
function table(rows: [string, number][], head: string): string {
  const columns = head.split("|").length + 1;
  const lines = [`| ${head} | µs per request |`, `|${" --- |".repeat(columns)}`];
  return [...lines, ...rows.slice(0, top).map(([name, us]) => `| ${name} | ${us.toFixed(2)} |`)].join("\n");
}

async function main(): Promise<number> {
  requirePerf();
  wrkVersion(); // or the error saying how to install it
  const dir = mkdtempSync(join(tmpdir(), "verdict-perf-"));
  let pid = 0;
  try {
    const sim = await startSim(dir);
    // The JIT's code map for perf; V8's own log (which the flag turns on) goes to the temporary directory, not the cwd.
    const nodeArgs = ["--perf-basic-prof", "--no-logfile-per-isolate", `--logfile=${join(dir, "v8.log")}`];
    const proxy = values.floor ? await startFloor(dir, sim.url, nodeArgs) : await startVerdict(dir, sim.url, nodeArgs);
    pid = proxy.pid;
    const headers = { ...requestHeaders(sim.url), "x-verdict-n": String(candidates) };
    const script = writeScript(dir, "perf", requestBody(values.stream), headers);
    const url = `${proxy.url}/chat/completions`;
    await runWrk(url, script, concurrency, 4, join(dir, "warm-up.log")); // the JIT settles first
    const data = join(dir, "perf.data");
    const [round] = await Promise.all([runWrk(url, script, concurrency, seconds, join(dir, "wrk.log")), record(pid, data)]);
    const merged = mergeRounds([round]);
    if (merged.errors > 0) throw new Error(`${merged.errors} errors under wrk (${join(dir, "wrk.log")})`);
    const samples = execFileSync("perf", ["script", "-F", "ip,sym,dso", "-i", data], { encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] });
    const found = attribute(samples, HZ, merged.requests);
    const what = candidates === 1 ? "pass-through" : `best-of-${candidates}`;
    console.log(`${proxy.name}, ${what}, ${values.stream ? "streamed" : "not streamed"}, concurrency ${concurrency}: ${merged.requests} requests in ${seconds} s, ${found.samples} samples`);
    console.log(`CPU per request under perf: ${found.totalUs.toFixed(1)} µs (${Object.entries(found.byLeaf).map(([kind, us]) => `${kind} ${us.toFixed(1)}`).join(", ")})\n`);
    console.log(table(found.bySource, "code of the innermost JavaScript frame"));
    console.log(`\n${table(found.byFrame, "innermost JavaScript frame (its builtins, runtime calls and kernel time included)")}`);
    console.log(`\n${table(found.slowPaths, "V8 slow path | innermost frame")}`);
    return 0;
  } finally {
    killChildren();
    if (pid !== 0) rmSync(join(tmpdir(), `perf-${pid}.map`), { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

runToExit(main);
