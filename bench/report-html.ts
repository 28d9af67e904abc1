// The HTML of bench/out/report.html: one self-contained page (inline CSS and SVG, nothing fetched, no script) built
// from the benchmarks' JSON files.
import { barChart, escape, lineChart, type Series } from "./report-svg";
import { added, PATHS, type Cell, type Mode, type Path, type TargetCheck } from "./overhead-table";
import type { BestOfCell } from "./bestof";

export interface OverheadResults {
  date: string;
  command: string;
  machine: { nproc: number; cpu: string; node: string; wrk: string; loadavg_1m_at_start: number };
  settings: { rounds_per_cell: number; round_seconds: number; concurrencies: number[] };
  cells: Cell[];
  targets: TargetCheck[];
  wall_seconds: number;
}

export interface SelectionCell {
  model: string;
  n: number;
  contender: string;
  best_picked: number;
}

const COLORS: Record<Path, string> = { direct: "#6e7781", floor: "#2da44e", verdict: "#1f6feb", portkey: "#d9822b" };
const PALETTE = ["#1f6feb", "#d9822b", "#2da44e", "#8250df", "#cf222e"];
const MODE_TITLE: Record<Mode, string> = { plain: "non-streaming", stream: "streaming" };

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1020px;color:#1f2328;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#59636e}.charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{border:1px solid #d0d7de;border-radius:6px;background:#fff}
svg text{font-size:11px;fill:#1f2328}svg .title{font-size:13px;font-weight:600}svg .axis{fill:#59636e}
svg .grid{stroke:#eaeef2}svg .axisline{stroke:#8c959f}table{border-collapse:collapse;margin:12px 0;font-size:13px}
td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:right}th{background:#f6f8fa}td:first-child,th:first-child{text-align:left}
.no{color:#cf222e;font-weight:600}.yes{color:#1a7f37;font-weight:600}`;

function table(head: string[], rows: (string | number)[][]): string {
  const th = head.map((h) => `<th>${escape(h)}</th>`).join("");
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${typeof c === "number" ? c : c}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table>`;
}

function overheadSection(o: OverheadResults): string {
  const conc = o.settings.concurrencies;
  const xLabels = conc.map(String);
  const charts: string[] = [];
  for (const mode of ["plain", "stream"] as const) {
    const get = (path: Path, c: number) => o.cells.find((x) => x.mode === mode && x.path === path && x.concurrency === c);
    // Only the paths the run measured: results written before the floor path existed have no floor cells.
    const paths = PATHS.filter((path) => o.cells.some((x) => x.path === path));
    const series: Series[] = paths.flatMap((path) => [
      { name: `${path} p50`, color: COLORS[path], values: conc.map((c) => get(path, c)?.p50_ms ?? null) },
      { name: `${path} p99`, color: COLORS[path], dashed: true, values: conc.map((c) => get(path, c)?.p99_ms ?? null) },
    ]);
    charts.push(lineChart({ title: `Latency, ${MODE_TITLE[mode]} (log scale)`, yLabel: "ms", xTitle: "concurrent connections", xLabels, series, log: true }));
    const groups = conc.map((c) => ({
      label: String(c),
      bars: paths.map((path) => ({ name: path, color: COLORS[path], value: get(path, c)?.rps ?? 0 })),
    }));
    charts.push(barChart({ title: `Requests per second, ${MODE_TITLE[mode]}`, yLabel: "req/s", xTitle: "concurrent connections", groups }));
  }
  const rows = o.cells.map((c) => {
    const a = added(o.cells, c);
    return [MODE_TITLE[c.mode], c.concurrency, c.path, c.rps.toFixed(0), c.p50_ms.toFixed(2), c.p99_ms.toFixed(2), a ? a.p50.toFixed(2) : "", a ? a.p99.toFixed(2) : ""];
  });
  const targets = o.targets.map((t) => [MODE_TITLE[t.mode], escape(t.target), escape(t.goal), escape(t.measured), t.met ? `<span class="yes">yes</span>` : `<span class="no">no</span>`]);
  const m = o.machine;
  return (
    `<h2>Pass-through overhead</h2><p class="meta">The same chat request straight to the zero-latency simulator (direct), through a bare Node proxy (floor: no checks, retries, logs or metrics), through verdict with n = 1, ` +
    `and through Portkey's gateway 1.15.2; wrk, ${o.settings.rounds_per_cell} round(s) of ${o.settings.round_seconds} s per path and cell, paths interleaved. ` +
    `${m.nproc} cores (${escape(m.cpu)}) shared by wrk, the proxy, the simulator and whatever else ran (1-minute load ${m.loadavg_1m_at_start} at start); ` +
    `${escape(m.node)}, ${escape(m.wrk)}. Command: <code>${escape(o.command)}</code>, ${escape(o.date)}.</p>` +
    `<div class="charts">${charts.join("")}</div>` +
    table(["mode", "concurrency", "path", "req/s", "p50 ms", "p99 ms", "added p50 ms", "added p99 ms"], rows) +
    (targets.length ? `<h3>Issue 7 targets (verdict)</h3>` + table(["mode", "target", "goal", "measured", "met"], targets) : "")
  );
}

function bestofSection(cells: BestOfCell[], settings: Record<string, unknown>): string {
  const tournaments = [...new Set(cells.map((c) => c.tournament))];
  const charts = tournaments.map((t) => {
    const ns = [...new Set(cells.filter((c) => c.tournament === t).map((c) => c.n))];
    const groups = ns.map((n) => {
      const pick = (pipelined: boolean) => cells.find((c) => c.tournament === t && c.n === n && c.pipelined === pipelined);
      return {
        label: `N = ${n}`,
        bars: [
          { name: "wall, pipelined", color: "#1f6feb", value: pick(true)?.wall_ms ?? 0 },
          { name: "wall, not pipelined", color: "#8c959f", value: pick(false)?.wall_ms ?? 0 },
        ],
        mark: pick(true)?.floor_ms ?? pick(false)?.floor_ms,
      };
    });
    return barChart({ title: `Best-of-N wall vs floor: ${t}`, yLabel: "ms per request", xTitle: "candidates", groups, markName: "floor" });
  });
  const rows = cells.map((c) => [c.n, escape(c.tournament), c.pipelined ? "yes" : "no", c.wall_ms.toFixed(0), c.floor_ms.toFixed(0), c.ratio.toFixed(3)]);
  const s = settings;
  return (
    `<h2>Best-of-N latency</h2><p class="meta">Wall time per request against the critical-path floor (slowest candidate plus the judge rounds ` +
    `that must follow it). Candidates ${escape(String(s["gen-min-ms"]))}-${escape(String(s["gen-max-ms"]))} ms, judge ${escape(String(s["judge-ms"]))} ms per call, ` +
    `${escape(String(s.requests))} concurrent requests per cell (bench/bestof.ts, in-process).</p>` +
    `<div class="charts">${charts.join("")}</div>` +
    table(["N", "tournament", "pipelined", "wall ms", "floor ms", "wall / floor"], rows)
  );
}

function selectionSection(cells: SelectionCell[]): string {
  const models = [...new Set(cells.map((c) => c.model))];
  const charts = models.map((model) => {
    const mine = cells.filter((c) => c.model === model);
    const ns = [...new Set(mine.map((c) => c.n))];
    const contenders = [...new Set(mine.map((c) => c.contender))];
    const series = contenders.map((name, i) => ({
      name,
      color: PALETTE[i % PALETTE.length]!,
      values: ns.map((n) => (mine.find((c) => c.n === n && c.contender === name)?.best_picked ?? 0) * 100),
    }));
    return lineChart({ title: `Best candidate picked, judge ${model}`, yLabel: "%", xTitle: "candidates (N)", xLabels: ns.map(String), series });
  });
  return `<h2>Selection quality</h2><p class="meta">From bench/out/selection.json (npm run bench:selection).</p><div class="charts">${charts.join("")}</div>`;
}

export function renderReport(parts: { overhead: OverheadResults; bestof?: { settings: Record<string, unknown>; cells: BestOfCell[] }; selection?: SelectionCell[] }): string {
  const missing = [!parts.bestof && "bestof.json", !parts.selection && "selection.json (npm run bench:selection)"].filter(Boolean);
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>verdict benchmarks</title><style>${CSS}</style></head><body>` +
    `<h1>verdict benchmarks</h1><p class="meta">Generated ${escape(new Date().toISOString())} by <code>npm run bench</code>.` +
    (missing.length ? ` Not included (file absent): ${escape(missing.join(", "))}.` : "") +
    `</p>${overheadSection(parts.overhead)}` +
    (parts.bestof ? bestofSection(parts.bestof.cells, parts.bestof.settings) : "") +
    (parts.selection ? selectionSection(parts.selection) : "") +
    `</body></html>\n`
  );
}
