// Tables and target checks for bench/overhead.ts: figures per path and concurrency, the latency each proxy adds over
// going direct, and issue 7's targets with the measured value next to each (reported, never used as an exit code).

import type { Merged } from "./overhead-wrk";

/** The paths, in the order tables list them; floor is the least a Node proxy does (bench/floor-proxy.mjs). */
export const PATHS = ["direct", "floor", "verdict", "portkey"] as const;
export type Path = (typeof PATHS)[number];
export type Mode = "plain" | "stream";

/** One cell: a path at a concurrency, its rounds pooled (see Merged in overhead-wrk.ts). */
export interface Cell extends Merged {
  mode: Mode;
  concurrency: number;
  path: Path;
  /** CPU time of the proxy's process per request (null for direct): where the added latency is spent. */
  proxy_cpu_ms_per_request: number | null;
  sim_cpu_ms_per_request: number | null;
}

export interface TargetCheck {
  mode: Mode;
  target: string;
  goal: string;
  measured: string;
  met: boolean;
}

const find = (cells: Cell[], mode: Mode, concurrency: number, path: Path) =>
  cells.find((c) => c.mode === mode && c.concurrency === concurrency && c.path === path);

export function added(cells: Cell[], cell: Cell): { p50: number; p99: number } | null {
  const direct = find(cells, cell.mode, cell.concurrency, "direct");
  return direct && cell.path !== "direct" ? { p50: cell.p50_ms - direct.p50_ms, p99: cell.p99_ms - direct.p99_ms } : null;
}

/** Issue 7's pass-through targets, for verdict, per mode; a target whose concurrency was not measured is left out. */
export function evaluateTargets(cells: Cell[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const mode of ["plain", "stream"] as const) {
    const one = find(cells, mode, 1, "verdict");
    const oneAdded = one && added(cells, one);
    if (oneAdded) {
      checks.push({ mode, target: "added p50 at concurrency 1", goal: "<= 0.5 ms", measured: `${oneAdded.p50.toFixed(2)} ms`, met: oneAdded.p50 <= 0.5 });
    }
    const [v64, p64, d64] = (["verdict", "portkey", "direct"] as const).map((path) => find(cells, mode, 64, path));
    if (v64 && p64 && p64.rps > 0) {
      const ratio = v64.rps / p64.rps;
      checks.push({ mode, target: "req/s at concurrency 64 vs Portkey", goal: ">= 1.5x", measured: `${ratio.toFixed(2)}x (${v64.rps.toFixed(0)} vs ${p64.rps.toFixed(0)})`, met: ratio >= 1.5 });
    }
    if (v64 && d64 && d64.rps > 0) {
      const ratio = v64.rps / d64.rps;
      checks.push({ mode, target: "req/s at concurrency 64 vs direct", goal: ">= 0.6x", measured: `${ratio.toFixed(2)}x (${v64.rps.toFixed(0)} vs ${d64.rps.toFixed(0)})`, met: ratio >= 0.6 });
    }
    for (const cell of cells.filter((c) => c.mode === mode && c.path === "verdict")) {
      const a = added(cells, cell);
      if (a) checks.push({ mode, target: `added p99 at concurrency ${cell.concurrency}`, goal: "<= 3 ms", measured: `${a.p99.toFixed(2)} ms`, met: a.p99 <= 3 });
    }
  }
  return checks;
}

const ms = (value: number) => value.toFixed(2);
const signed = (value: number) => (value >= 0 ? "+" : "") + value.toFixed(2);

interface Results {
  command: string;
  machine: { nproc: number; node: string; wrk: string; loadavg_1m_at_start: number };
  settings: { rounds_per_cell: number; round_seconds: number };
  cells: Cell[];
  targets: TargetCheck[];
  wall_seconds: number;
}

/** The markdown printed on stdout (and pasted into bench/README.md). */
export function renderTables(results: Results): string {
  const lines = [
    "| mode | concurrency | path | req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | proxy CPU ms/req |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const cell of results.cells) {
    const a = added(results.cells, cell);
    const cpu = cell.proxy_cpu_ms_per_request === null ? "" : cell.proxy_cpu_ms_per_request.toFixed(3);
    lines.push(
      `| ${cell.mode} | ${cell.concurrency} | ${cell.path} | ${cell.rps.toFixed(0)} | ${ms(cell.p50_ms)} | ${ms(cell.p99_ms)} | ` +
        `${a ? signed(a.p50) : ""} | ${a ? signed(a.p99) : ""} | ${cpu} |`,
    );
  }
  const m = results.machine;
  lines.push(
    "",
    `${results.settings.rounds_per_cell} round(s) of ${results.settings.round_seconds} s per path and cell, paths interleaved; ` +
      `${m.nproc} cores shared by wrk (1 thread), the proxy, the simulator and anything else running ` +
      `(1-minute load ${m.loadavg_1m_at_start} at start); ${m.node}, ${m.wrk}; ${results.wall_seconds} s in all. ` +
      `Command: ${results.command}`,
  );
  if (results.targets.length > 0) {
    lines.push("", "| mode | target (verdict) | goal | measured | met |", "| --- | --- | --- | --- | --- |");
    for (const t of results.targets) lines.push(`| ${t.mode} | ${t.target} | ${t.goal} | ${t.measured} | ${t.met ? "yes" : "**no**"} |`);
  }
  return lines.join("\n");
}
