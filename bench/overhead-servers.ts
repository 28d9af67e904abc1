// The three servers of bench/overhead.ts, each its own process on 127.0.0.1: the simulator, verdict, Portkey's gateway.
// Separate processes so that the load tool, the proxies and the upstream never share an event loop; every child is
// registered here and killed on exit, on errors and on SIGINT/SIGTERM.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

const HOST = "127.0.0.1";
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
async function waitForLog(child: ChildProcess, logFile: string, pattern: RegExp, name: string, timeoutMs = 30_000): Promise<RegExpExecArray> {
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

/** A port that was free a moment ago (Portkey takes a port number, not 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Server {
  name: string;
  /** Base URL including /v1. */
  url: string;
  pid: number;
  log: string;
}

/** The simulator with no latency (the CLI's defaults: ttft 0, whole text at once, perfect judge). */
export async function startSim(dir: string): Promise<Server> {
  const log = join(dir, "sim.log");
  const child = spawnLogged(process.execPath, ["bin/verdict.mjs", "sim", "--port", "0"], log);
  const found = await waitForLog(child, log, /listening on (http:\/\/127\.0\.0\.1:\d+\/v1)/, "simulator");
  return { name: "sim", url: found[1]!, pid: child.pid!, log };
}

/** verdict with its default settings except the upstream: what `npm start` runs (access log at info included). */
export async function startVerdict(dir: string, simUrl: string): Promise<Server> {
  const log = join(dir, "verdict.log");
  const configFile = join(dir, "verdict.config.json");
  writeFileSync(configFile, JSON.stringify({ server: { host: HOST, port: 0 }, generator: { base_url: simUrl }, judge: { model: "sim-judge" } }));
  const child = spawnLogged(process.execPath, ["bin/verdict.mjs", "serve"], log, { ...process.env, VERDICT_CONFIG: configFile });
  const found = await waitForLog(child, log, /verdict listening on (http:\/\/127\.0\.0\.1:\d+\/v1)/, "verdict");
  return { name: "verdict", url: found[1]!, pid: child.pid!, log };
}

/**
 * Portkey's gateway through its own start script (the package's bin), headless (no log UI). The preload only pins its
 * listen() to 127.0.0.1; which upstream it calls is decided per request by the x-portkey-* headers.
 */
export async function startPortkey(dir: string): Promise<Server> {
  const log = join(dir, "portkey.log");
  const port = await freePort();
  const script = "node_modules/@portkey-ai/gateway/build/start-server.js";
  const child = spawnLogged(process.execPath, ["--import", "./bench/loopback-listen.mjs", script, `--port=${port}`, "--headless"], log);
  await waitForLog(child, log, /Ready for connections/, "portkey gateway");
  return { name: "portkey", url: `http://${HOST}:${port}/v1`, pid: child.pid!, log };
}
