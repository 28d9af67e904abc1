// Writes bench/out/report.html from the benchmarks' JSON results: self-contained (inline CSS and SVG, no scripts,
// nothing fetched). `npm run bench` runs the benchmarks first; `npx tsx bench/report.ts` only redraws.
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const OUT = process.argv[2] ?? "bench/out";
const read = <T>(name: string): T | null => (existsSync(`${OUT}/${name}`) ? (JSON.parse(readFileSync(`${OUT}/${name}`, "utf8")) as T) : null);
const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

interface Series {
  name: string;
  points: [number, number][];
  color: string;
}

/** A line chart with a log-ish x axis given as category positions (concurrency 1, 16, 64 or N 4, 8, 16). */
function lineChart(title: string, xs: number[], series: Series[], yLabel: string): string {
  const [w, h, left, bottom] = [520, 260, 60, 40];
  const yMax = Math.max(1, ...series.flatMap((s) => s.points.map(([, y]) => y))) * 1.1;
  const x = (value: number) => left + (xs.indexOf(value) / Math.max(1, xs.length - 1)) * (w - left - 20);
  const y = (value: number) => h - bottom - (value / yMax) * (h - bottom - 20);
  const lines = series.map((s) => {
    const path = s.points.map(([px, py], i) => `${i === 0 ? "M" : "L"}${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(" ");
    const dots = s.points.map(([px, py]) => `<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="3" fill="${s.color}"><title>${escape(s.name)}: ${py.toFixed(1)}</title></circle>`).join("");
    return `<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}`;
  });
  const ticks = xs.map((v) => `<text x="${x(v)}" y="${h - bottom + 16}" text-anchor="middle">${v}</text>`);
  const legend = series.map((s, i) => `<rect x="${left + i * 150}" y="${h - 12}" width="10" height="10" fill="${s.color}"/><text x="${left + 14 + i * 150}" y="${h - 3}">${escape(s.name)}</text>`);
  return `<figure><figcaption>${escape(title)}</figcaption><svg width="${w}" height="${h}" role="img" aria-label="${escape(title)}">` +
    `<line x1="${left}" y1="${h - bottom}" x2="${w - 10}" y2="${h - bottom}" stroke="#333"/><line x1="${left}" y1="10" x2="${left}" y2="${h - bottom}" stroke="#333"/>` +
    `<text x="${left + 6}" y="14">${escape(yLabel)}</text><text x="${left - 6}" y="${y(yMax) + 4}" text-anchor="end">${yMax.toFixed(0)}</text>` +
    `${ticks.join("")}${lines.join("")}${legend.join("")}</svg></figure>`;
}

const COLORS: Record<string, string> = { direct: "#2a9d8f", verdict: "#264653", portkey: "#e76f51", wall: "#264653", floor: "#2a9d8f", unpipelined: "#e76f51" };
const sections: string[] = [];

const overhead = read<{ rows: { mode: string; concurrency: number; path: string; req_per_s: number; mean_ms: number; p99_ms: number }[] }>("overhead.json");
if (overhead) {
  for (const mode of ["json", "stream"]) {
    const rows = overhead.rows.filter((r) => r.mode === mode);
    const levels = [...new Set(rows.map((r) => r.concurrency))].sort((a, b) => a - b);
    const series = (field: "req_per_s" | "mean_ms" | "p99_ms") =>
      ["direct", "verdict", "portkey"].map((path) => ({ name: path, color: COLORS[path]!, points: rows.filter((r) => r.path === path).map((r) => [r.concurrency, r[field]] as [number, number]) }));
    const label = mode === "json" ? "non-streaming" : "streaming (Portkey's streams fail on this Node: its line times error answers)";
    sections.push(lineChart(`Mean latency vs concurrency, ${label}`, levels, series("mean_ms"), "ms"));
    sections.push(lineChart(`p99 latency vs concurrency, ${label}`, levels, series("p99_ms"), "ms"));
    sections.push(lineChart(`Throughput vs concurrency, ${label}`, levels, series("req_per_s"), "req/s"));
  }
}

const bestof = read<{ cells: { n: number; tournament: string; pipelined: boolean; wall_ms: number; floor_ms: number }[] }>("bestof.json");
if (bestof) {
  for (const tournament of [...new Set(bestof.cells.map((c) => c.tournament))]) {
    const cells = bestof.cells.filter((c) => c.tournament === tournament);
    const ns = [...new Set(cells.map((c) => c.n))].sort((a, b) => a - b);
    const pick = (pipelined: boolean, field: "wall_ms" | "floor_ms") => cells.filter((c) => c.pipelined === pipelined).map((c) => [c.n, c[field]] as [number, number]);
    sections.push(lineChart(`Wall time vs critical-path floor per N, ${tournament}`, ns, [
      { name: "wall (pipelined)", color: COLORS.wall!, points: pick(true, "wall_ms") },
      { name: "floor", color: COLORS.floor!, points: pick(true, "floor_ms") },
      { name: "wall (unpipelined)", color: COLORS.unpipelined!, points: pick(false, "wall_ms") },
    ], "ms"));
  }
}

const load = read<Record<string, number>>("load.json");
const loadTable = load ? `<h2>Load</h2><table>${Object.entries(load).map(([k, v]) => `<tr><th>${escape(k)}</th><td>${v}</td></tr>`).join("")}</table>` : "";
const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>verdict benchmarks</title>
<style>body{font:14px/1.5 system-ui,sans-serif;margin:2rem;max-width:1120px}figure{display:inline-block;margin:0 1rem 1.5rem 0}
figcaption{font-weight:600;max-width:520px}svg text{font:11px system-ui,sans-serif}td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}</style></head>
<body><h1>verdict benchmarks</h1><p>From ${escape(OUT)}/*.json; figures, machine and commands in bench/README.md.</p>
${sections.length ? sections.join("\n") : "<p>No results yet: run npm run bench.</p>"}${loadTable}</body></html>`;
writeFileSync(`${OUT}/report.html`, html);
console.log(`wrote ${OUT}/report.html (${sections.length} charts)`);
