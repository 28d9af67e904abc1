// Runs verdict as its own process on 127.0.0.1 for the benchmarks (overhead, load, soak), so that its CPU time and
// memory are its own, read from /proc (Linux). Its output goes to a log file; nothing reads it while the load runs.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnLogged, waitForLog } from "./children";
import { cpuMs, mainThreadCpuMs, memoryMiB } from "./proc";

export interface VerdictProcessOptions {
  /** Where the config and the log go; a new temporary directory by default. */
  dir?: string;
  /** Node flags (VERDICT_NODE_ARGS adds more, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile under load). */
  nodeArgs?: string[];
  /** Modules preloaded before verdict starts (the soak's heap probe). */
  preload?: string[];
  /** A bundle built elsewhere (bench/ab.ts: another commit's build/verdict.mjs), run instead of this tree's. */
  bundle?: string;
  env?: NodeJS.ProcessEnv;
}

export interface VerdictProcess {
  url: string;
  pid: number;
  /** The file holding its stdout and stderr. */
  log: string;
  logText(): string;
  /** Resident set size now, and its peak so far (VmHWM), in MiB. */
  rssMiB(): number;
  peakRssMiB(): number;
  /** CPU time (user + system) the process has used, in ms. */
  cpuMs(): number;
  /** The part of cpuMs used by its main thread (bench/proc.ts says what the rest is). */
  mainThreadCpuMs(): number;
  /** Sends a signal (the soak's heap probe answers SIGUSR2). */
  signal(name: NodeJS.Signals): void;
  stop(): Promise<void>;
}

/**
 * `npm start`'s command line, from package.json: node, its flags, the built entry and `serve`. The benchmarks run
 * verdict exactly as users start it, after the same build step (`npm run build`, an esbuild bundle of src/).
 */
export function startCommand(build = true): { nodeFlags: string[]; entry: string[] } {
  const { scripts } = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> };
  const [node, ...rest] = scripts.start!.split(/\s+/);
  if (node !== "node") throw new Error(`npm start should run node, not ${node}`);
  const firstArgument = rest.findIndex((word) => !word.startsWith("-"));
  if (build) execFileSync("npm", ["run", "-s", "build"], { stdio: "inherit" });
  return { nodeFlags: rest.slice(0, firstArgument), entry: rest.slice(firstArgument) };
}

/** Starts `verdict serve` with `config` (on 127.0.0.1, a free port) as `npm start` runs it. */
export async function startVerdictProcess(config: Record<string, unknown>, options: VerdictProcessOptions = {}): Promise<VerdictProcess> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "verdict-bench-"));
  const file = join(dir, "verdict.config.json");
  const log = join(dir, "verdict.log");
  writeFileSync(file, JSON.stringify({ ...config, server: { host: "127.0.0.1", port: 0 } }));
  const extra = (process.env.VERDICT_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const preload = (options.preload ?? []).flatMap((module) => ["--import", module]);
  const { nodeFlags, entry } = startCommand(options.bundle === undefined);
  // npm start's entry is the bundle and its arguments ("build/verdict.mjs serve"): another bundle takes the first place.
  const command = options.bundle === undefined ? entry : [options.bundle, ...entry.slice(1)];
  const args = [...nodeFlags, ...(options.nodeArgs ?? []), ...extra, ...preload, ...command];
  const child = spawnLogged(process.execPath, args, log, { ...process.env, ...options.env, VERDICT_CONFIG: file });
  const found = await waitForLog(child, log, /verdict listening on (http:\/\/127\.0\.0\.1:\d+\/v1)/, "verdict");
  const pid = child.pid!;
  return {
    url: found[1]!,
    pid,
    log,
    logText: () => readFileSync(log, "utf8"),
    rssMiB: () => memoryMiB(pid, "VmRSS"),
    peakRssMiB: () => memoryMiB(pid, "VmHWM"),
    cpuMs: () => cpuMs(pid),
    mainThreadCpuMs: () => mainThreadCpuMs(pid),
    signal: (name) => void child.kill(name),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
      }),
  };
}
