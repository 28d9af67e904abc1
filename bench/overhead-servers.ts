// The servers of bench/overhead.ts, each its own process on 127.0.0.1: the simulator, the floor proxy, verdict and
// Portkey's gateway.
// Separate processes so that the load tool, the proxies and the upstream never share an event loop; every child is
// registered (bench/children.ts) and killed on exit, on errors and on SIGINT/SIGTERM.
import { createServer } from "node:net";
import { join } from "node:path";
import { spawnLogged, startListening, waitForLog } from "./children";
import { startVerdictProcess } from "./verdict-process";

export { killChildren } from "./children";

const HOST = "127.0.0.1";

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
  const { url, child } = await startListening(["bin/verdict.mjs", "sim", "--port", "0"], log, "simulator");
  return { name: "sim", url, pid: child.pid!, log };
}

/**
 * verdict with its default settings except the upstream: what `npm start` runs (access log at info included), with
 * `nodeArgs` added (bench:perf's --perf-basic-prof).
 */
export async function startVerdict(dir: string, simUrl: string, nodeArgs: string[] = []): Promise<Server> {
  const verdict = await startVerdictProcess({ generator: { base_url: simUrl }, judge: { model: "sim-judge" } }, { dir, nodeArgs });
  return { name: "verdict", url: verdict.url, pid: verdict.pid, log: verdict.log };
}

/** The floor: the least a Node proxy does (bench/floor-proxy.mjs), in front of the simulator; `nodeArgs` as for verdict. */
export async function startFloor(dir: string, simUrl: string, nodeArgs: string[] = []): Promise<Server> {
  const log = join(dir, "floor.log");
  const { url, child } = await startListening([...nodeArgs, "bench/floor-proxy.mjs", simUrl], log, "floor proxy");
  return { name: "floor", url, pid: child.pid!, log };
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
