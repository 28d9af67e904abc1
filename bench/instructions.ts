// verdict's own work per best-of-4, without the network: bench/instructions-work.ts (the app in one process, upstream
// calls answered at once) bundled as npm start bundles verdict. CPU time from one process is as noisy as the machine;
// with --valgrind the figure is instructions counted by valgrind, which moved by up to about 1% between runs of one
// build here. Under bench:load a request also pays for what it holds while it waits (garbage collection of it):
// --concurrency 200 puts as many requests in flight as there, which brings that into the count (runs then move by
// about 3%); confirm a change with bench:ab-load.
//
//   npm run bench:instructions                      CPU ms per best-of-4 of the working tree (5 rounds, median)
//   npm run bench:instructions -- --valgrind        instructions per best-of-4 (two runs side by side, ~2 minutes)
//   npm run bench:instructions -- --valgrind --a <git ref>   the same for that commit's code, then the working tree's
//   npm run bench:instructions -- --valgrind --concurrency 200   with 200 requests in flight instead of 50
//   npm run bench:instructions -- --valgrind --lane  over loopback HTTP to the Node server (its chat completions lane),
//                                                    not the app's fetch; --a then needs a commit from 2026-12-01 on
//   npm run bench:instructions -- --valgrind --lane --pass-through   the same for requests passed through (n = 1)
//   npm run bench:instructions -- --smoke           a few requests: a CI-sized check that the work runs
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { treeOf } from "./bundle-of";
import { runToExit, spawnLogged } from "./children";
import { median } from "./stats";

const { values } = parseArgs({
  options: {
    valgrind: { type: "boolean", default: false },
    a: { type: "string" },
    smoke: { type: "boolean", default: false },
    concurrency: { type: "string", default: "50" },
    lane: { type: "boolean", default: false },
    "pass-through": { type: "boolean", default: false },
  },
});

const WORK = "bench/instructions-work.ts";
/** Requests in flight at once, for every measured run (the smoke keeps the work's default), and the path they take. */
const inFlight = { CONCURRENCY: values.concurrency, LANE: values.lane ? "1" : "0", PASS_THROUGH: values["pass-through"] ? "1" : "0" };
/** What one request of the work is, for the lines printed. */
const REQUEST = values["pass-through"] ? "pass-through" : "best-of-4";

/**
 * The work bundled from the tree at `root` (the working tree, or a commit's) by this checkout's bin/build.mjs, as
 * `npm start` bundles verdict, next to that tree's node_modules.
 */
function bundle(root: string): string {
  const outfile = join("build", "instructions-work.mjs");
  execFileSync(process.execPath, [resolve("bin/build.mjs"), "--entry", WORK, "--outfile", outfile], { cwd: root, stdio: "inherit" });
  return join(root, outfile);
}

let runs = 0;

/** Runs the bundle (under valgrind when counting) and gives its JSON line and, counting, the instructions it took. */
function runWork(file: string, env: Record<string, string>, count: boolean, dir: string): Promise<{ line: { cpu_ms_per_request: number[]; judge_calls_per_request: number }; instructions: number }> {
  // --predictable: no background compiling or collecting, so that two runs count alike; a fixed hash seed likewise.
  const node = [process.execPath, "--predictable", "--hash-seed=1", file];
  const [command, ...args] = count ? ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", ...node] : node;
  const log = join(dir, `work-${runs++}.log`);
  const child = spawnLogged(command!, args, log, { ...process.env, ...env });
  return new Promise((resolvePromise, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => {
      const text = readFileSync(log, "utf8");
      const line = text.split("\n").find((l) => l.startsWith("{"));
      const counted = /I\s+refs:\s+([\d,]+)/.exec(text);
      if (code !== 0 || !line || (count && !counted)) return reject(new Error(`${command} exited ${code}:\n${text.slice(-1500)}`));
      resolvePromise({ line: JSON.parse(line), instructions: counted ? Number(counted[1]!.replaceAll(",", "")) : 0 });
    });
  });
}

/** Instructions per request: a long run less a short one (the same start-up and warm-up), side by side. */
async function instructionsPerRequest(file: string, dir: string): Promise<{ perRequest: number; judgeCalls: number }> {
  const short = { ...inFlight, WARM: "400", EACH: "100", ROUNDS: "5" };
  const long = { ...short, EACH: "700" };
  const [a, b] = await Promise.all([runWork(file, short, true, dir), runWork(file, long, true, dir)]);
  return { perRequest: Math.round((b.instructions - a.instructions) / (5 * (700 - 100))), judgeCalls: b.line.judge_calls_per_request };
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "verdict-instructions-"));
  try {
    if (values.smoke) {
      const { line } = await runWork(bundle("."), { WARM: "20", EACH: "20", ROUNDS: "1", LANE: inFlight.LANE, PASS_THROUGH: inFlight.PASS_THROUGH }, false, dir);
      console.log(`smoke: ${line.cpu_ms_per_request[0]} ms per ${REQUEST}, ${line.judge_calls_per_request} judge calls each`);
      return 0;
    }
    if (!values.valgrind) {
      const { line } = await runWork(bundle("."), inFlight, false, dir);
      const rounds = line.cpu_ms_per_request;
      console.log(`CPU per ${REQUEST}, in process, upstream answering at once: median ${median(rounds).toFixed(3)} ms of rounds ${rounds.join(", ")}; ${line.judge_calls_per_request} judge calls each`);
      return 0;
    }
    execFileSync("valgrind", ["--version"], { stdio: "ignore" }); // fails plainly when valgrind is missing
    const sides: [string, string][] = [];
    if (values.a) {
      const tree = treeOf("A", values.a, dir);
      copyFileSync(WORK, join(tree, WORK)); // the same work, on that commit's code
      sides.push([values.a, bundle(tree)]);
    }
    sides.push(["working tree", bundle(".")]);
    const counted: number[] = [];
    const calls: number[] = [];
    for (const [name, file] of sides) {
      const { perRequest, judgeCalls } = await instructionsPerRequest(file, dir);
      counted.push(perRequest);
      calls.push(judgeCalls);
      console.log(`${name}: ${perRequest.toLocaleString("en")} instructions per ${REQUEST} (${judgeCalls} judge calls each)`);
    }
    if (counted.length < 2) return 0;
    // A ratio of two builds means something only for the same work: one that judged more calls did more of it.
    if (calls[0] !== calls[1]) {
      console.error(`the two builds made different numbers of judge calls per ${REQUEST} (${calls.join(" and ")}): no ratio`);
      return 1;
    }
    console.log(`working tree / ${values.a}: ${(counted[1]! / counted[0]!).toFixed(3)}`);
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runToExit(main);
