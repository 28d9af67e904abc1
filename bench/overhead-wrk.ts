// Drives Debian's wrk (a C load tool, not part of the code under test) for bench/overhead.ts and merges its rounds.
// wrk POSTs through a small Lua script; its done() hook prints the counts and the latency quantiles as one JSON line.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnLogged } from "./children";

/** Percentiles dumped per round: dense in the tail so that a merged p99 is not a coarse guess. */
export const GRID: number[] = [
  ...Array.from({ length: 190 }, (_, i) => (i + 1) * 0.5), // 0.5 .. 95
  ...Array.from({ length: 99 }, (_, i) => 95 + (i + 1) * 0.05), // 95.05 .. 99.95
  99.99,
  100,
].map((p) => Math.round(p * 100) / 100);

const banner = (text: string) => text.split(" ").slice(0, 2).join(" ");

/** The wrk version, or an error that says how to install it (CI installs it in .ci/run). */
export function wrkVersion(): string {
  try {
    return banner(execFileSync("wrk", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
  } catch (err) {
    const out = (err as { stdout?: string }).stdout ?? "";
    if (out.startsWith("wrk ")) return banner(out); // wrk --version exits 1 after printing its banner
    throw new Error("wrk is not installed: bench:overhead needs Debian's wrk as its load tool (apt-get install -y wrk)");
  }
}

/** One Lua script per (target headers, body): wrk sends exactly these bytes on every request. */
export function writeScript(dir: string, name: string, body: unknown, headers: Record<string, string>): string {
  const lua = [
    `wrk.method = "POST"`,
    `wrk.body = ${JSON.stringify(JSON.stringify(body))}`,
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
    `local grid = {${GRID.join(", ")}}`,
    `function done(summary, latency, requests)`,
    `  local q = {}`,
    `  for i, p in ipairs(grid) do q[i] = string.format("%d", latency:percentile(p)) end`,
    `  local e = summary.errors`,
    `  io.write(string.format('\\nWRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"q_us":[%s]}\\n',`,
    `    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout, table.concat(q, ",")))`,
    `end`,
  ].join("\n");
  const file = join(dir, `${name}.lua`);
  writeFileSync(file, lua + "\n");
  return file;
}

export interface Round {
  requests: number;
  duration_us: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  /** Latency in microseconds at each GRID percentile. */
  q_us: number[];
}

/** One wrk run: one thread (on 2 cores the servers need the other), `connections` keep-alive connections. */
export function runWrk(url: string, script: string, connections: number, seconds: number, logFile: string): Promise<Round> {
  const args = ["-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "10s", "-s", script, url];
  const child = spawnLogged("wrk", args, logFile);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => {
      const text = readFileSync(logFile, "utf8");
      const line = text.split("\n").find((l) => l.startsWith("WRK_JSON "));
      if (code !== 0 || !line) return reject(new Error(`wrk ${args.join(" ")} exited ${code}:\n${text.slice(-800)}`));
      resolve(JSON.parse(line.slice("WRK_JSON ".length)) as Round);
    });
  });
}

export interface Merged {
  requests: number;
  seconds: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
}

/**
 * Pools rounds into one distribution: each round's quantile points stand for the share of its requests between the
 * previous grid point and theirs, so rounds weigh by how many requests they answered (wrk keeps no raw samples).
 * wrk's latencies include its coordinated-omission correction (extra samples for responses slower than twice the
 * mean interval), the same for every target.
 */
export function mergeRounds(rounds: Round[]): Merged {
  const points: { us: number; weight: number }[] = [];
  for (const round of rounds) {
    round.q_us.forEach((us, i) => points.push({ us, weight: (round.requests * (GRID[i]! - (GRID[i - 1] ?? 0))) / 100 }));
  }
  points.sort((a, b) => a.us - b.us);
  const total = points.reduce((sum, p) => sum + p.weight, 0);
  const quantile = (q: number) => {
    let seen = 0;
    for (const p of points) if ((seen += p.weight) >= q * total - 1e-9) return p.us / 1000;
    return (points.at(-1)?.us ?? 0) / 1000;
  };
  const requests = rounds.reduce((sum, r) => sum + r.requests, 0);
  const seconds = rounds.reduce((sum, r) => sum + r.duration_us, 0) / 1e6;
  const errors = rounds.reduce((sum, r) => sum + Object.values(r.errors).reduce((a, b) => a + b, 0), 0);
  return { requests, seconds, rps: seconds > 0 ? requests / seconds : 0, p50_ms: quantile(0.5), p99_ms: quantile(0.99), errors };
}
