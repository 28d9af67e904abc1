// Runs verdict as its own process on 127.0.0.1 for benchmarks, so its CPU time and memory are its own, and reads
// both from /proc (Linux).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuMs, memoryMiB } from "./proc";

export interface VerdictProcess {
  url: string;
  child: ChildProcess;
  /** Resident set size now, and its peak so far (VmHWM), in MiB. */
  rssMiB(): number;
  peakRssMiB(): number;
  /** CPU time (user + system) the process has used, in ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export async function startVerdictProcess(config: Record<string, unknown>, startupMs = 20_000): Promise<VerdictProcess> {
  const dir = mkdtempSync(join(tmpdir(), "verdict-bench-"));
  const file = join(dir, "verdict.config.json");
  writeFileSync(file, JSON.stringify({ server: { host: "127.0.0.1", port: 0 }, ...config }));
  // VERDICT_NODE_ARGS adds Node flags, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile verdict under load.
  const extra = (process.env.VERDICT_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...extra, "--import", "tsx", "src/cli.ts", "serve"], {
    env: { ...process.env, VERDICT_CONFIG: file, LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("verdict did not start in time")), startupMs);
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      const found = /verdict listening on (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(chunk);
      if (found) (clearTimeout(timer), resolve(found[1]!));
    });
    child.once("exit", (code) => (clearTimeout(timer), reject(new Error(`verdict exited early (${code})`))));
  });
  const pid = child.pid!;
  return {
    url,
    child,
    rssMiB: () => memoryMiB(pid, "VmRSS"),
    peakRssMiB: () => memoryMiB(pid, "VmHWM"),
    cpuMs: () => cpuMs(pid),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
      }),
  };
}
