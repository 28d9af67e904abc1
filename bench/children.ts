// Child processes for the benchmarks: each writes its output to a log file (reading a pipe would cost the benchmark
// CPU under load), is waited for by a line in that log, and is killed when the benchmark exits, fails or is stopped.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";

const children = new Set<ChildProcess>();

/** Kills every child still running (synchronous: also safe inside process.on("exit")). */
export function killChildren(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  children.clear();
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", killChildren);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      killChildren();
      process.exit(130);
    });
  }
}

/** Runs a command with its output in a log file (not a pipe: reading a pipe would cost this process CPU under load). */
export function spawnLogged(command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  hookExit();
  const fd = openSync(logFile, "w");
  const child = spawn(command, args, { env, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for `pattern` to appear in the child's log; fails with the log's tail if the child exits or time runs out. */
export async function waitForLog(child: ChildProcess, logFile: string, pattern: RegExp, name: string, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = readFileSync(logFile, "utf8");
    const found = pattern.exec(text);
    if (found) return found;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      const why = child.exitCode !== null || child.signalCode !== null ? `exited (${child.exitCode ?? child.signalCode})` : `did not start within ${timeoutMs / 1000} s`;
      throw new Error(`${name} ${why}; last log lines:\n${text.split("\n").slice(-15).join("\n")}`);
    }
    await sleep(50);
  }
}

/** Runs a benchmark's main and exits with its code; a failure prints its message and kills the children first. */
export function runToExit(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      killChildren();
      process.exit(1);
    },
  );
}

/** Starts `node <args>`, a server that says "listening on http://127.0.0.1:PORT/v1" once it is ready, and waits for that line. */
export async function startListening(args: string[], logFile: string, name: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawnLogged(process.execPath, args, logFile);
  const found = await waitForLog(child, logFile, /listening on (http:\/\/127\.0\.0\.1:\d+\/v1)/, name);
  return { url: found[1]!, child };
}
