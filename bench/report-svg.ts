// Inline SVG charts for bench/report.ts: a line chart and a grouped bar chart, plain strings, no script and no fetch,
// so the report opens offline in any browser.

export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  /** One value per x label; null leaves a gap. */
  values: (number | null)[];
}

export interface Bar {
  name: string;
  color: string;
  value: number;
}

const W = 480;
const H = 300;
const PAD = { left: 62, right: 14, top: 34, bottom: 78 };
const plotW = W - PAD.left - PAD.right;
const plotH = H - PAD.top - PAD.bottom;

export const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(1) : v.toPrecision(2));

/** Tick values: powers of ten times 1, 2, 5 on a log axis; about five even steps on a linear one. */
function ticks(min: number, max: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      for (const m of [1, 2, 5]) if (m * 10 ** e >= min * 0.999 && m * 10 ** e <= max * 1.001) out.push(m * 10 ** e);
    }
    return out;
  }
  const step = 10 ** Math.floor(Math.log10(max / 5 || 1));
  const nice = [1, 2, 2.5, 5, 10].map((m) => m * step).find((s) => max / s <= 6) ?? step * 10;
  return Array.from({ length: Math.floor(max / nice) + 1 }, (_, i) => i * nice);
}

function frame(title: string, yLabel: string, yTicks: number[], y: (v: number) => number, xLabels: string[], x: (i: number) => number, xTitle: string): string {
  const grid = yTicks
    .map((t) => `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(t)}" y2="${y(t)}" class="grid"/><text x="${PAD.left - 6}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`)
    .join("");
  const xs = xLabels.map((l, i) => `<text x="${x(i)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${escape(l)}</text>`).join("");
  return (
    `<text x="${W / 2}" y="18" text-anchor="middle" class="title">${escape(title)}</text>${grid}${xs}` +
    `<text x="${W / 2}" y="${H - PAD.bottom + 32}" text-anchor="middle" class="axis">${escape(xTitle)}</text>` +
    `<text transform="translate(14 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle" class="axis">${escape(yLabel)}</text>` +
    `<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PAD.top + plotH}" class="axisline"/>` +
    `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH}" class="axisline"/>`
  );
}

function legend(items: { name: string; color: string; dashed?: boolean }[]): string {
  return items
    .map((item, i) => {
      const lx = PAD.left + (i % 3) * 140;
      const ly = H - 8 - (items.length > 3 && i < 3 ? 16 : 0);
      const dash = item.dashed ? ` stroke-dasharray="5 3"` : "";
      return `<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${item.color}" stroke-width="3"${dash}/><text x="${lx + 23}" y="${ly}">${escape(item.name)}</text>`;
    })
    .join("");
}

/** Points joined per series; `log` puts y on a log scale (latencies that span 0.1 ms to 100 ms). */
export function lineChart(opts: { title: string; yLabel: string; xTitle: string; xLabels: string[]; series: Series[]; log?: boolean }): string {
  const all = opts.series.flatMap((s) => s.values).filter((v): v is number => v !== null && v > 0);
  const log = opts.log ?? false;
  const lo = log ? Math.min(...all) * 0.8 : 0;
  const hi = Math.max(...all, 1e-3) * (log ? 1.25 : 1.1);
  const y = (v: number) => (log ? PAD.top + plotH * (1 - (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) : PAD.top + plotH * (1 - v / hi));
  const x = (i: number) => PAD.left + (plotW * (i + 0.5)) / opts.xLabels.length;
  const lines = opts.series
    .map((s) => {
      const pts = s.values.map((v, i) => (v === null || v <= 0 ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean);
      const dash = s.dashed ? ` stroke-dasharray="5 3"` : "";
      const dots = pts.map((p) => `<circle cx="${p!.split(",")[0]}" cy="${p!.split(",")[1]}" r="3" fill="${s.color}"/>`).join("");
      return `<polyline points="${pts.join(" ")}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>${dots}`;
    })
    .join("");
  const body = frame(opts.title, opts.yLabel, ticks(lo || 1e-3, hi, log).filter((t) => t >= lo && t <= hi), y, opts.xLabels, x, opts.xTitle);
  return svg(body + lines + legend(opts.series), opts.title);
}

/** Bars side by side per group; optional `marks` draw a black tick per group (a floor to compare the bars with). */
export function barChart(opts: { title: string; yLabel: string; xTitle: string; groups: { label: string; bars: Bar[]; mark?: number }[]; markName?: string }): string {
  const hi = Math.max(...opts.groups.flatMap((g) => [...g.bars.map((b) => b.value), g.mark ?? 0]), 1e-3) * 1.1;
  const y = (v: number) => PAD.top + plotH * (1 - v / hi);
  const groupW = plotW / opts.groups.length;
  const x = (i: number) => PAD.left + groupW * (i + 0.5);
  let body = "";
  opts.groups.forEach((g, i) => {
    const barW = Math.min(28, (groupW * 0.8) / g.bars.length);
    g.bars.forEach((b, j) => {
      const bx = x(i) - (barW * g.bars.length) / 2 + j * barW;
      body += `<rect x="${bx.toFixed(1)}" y="${y(b.value).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(PAD.top + plotH - y(b.value)).toFixed(1)}" fill="${b.color}"><title>${escape(`${b.name}: ${fmt(b.value)}`)}</title></rect>`;
    });
    if (g.mark !== undefined) {
      const half = (barW * g.bars.length) / 2 + 3;
      body += `<line x1="${x(i) - half}" x2="${x(i) + half}" y1="${y(g.mark)}" y2="${y(g.mark)}" stroke="#111" stroke-width="2"/>`;
    }
  });
  const names = opts.groups[0]?.bars.map((b) => ({ name: b.name, color: b.color })) ?? [];
  const items = opts.markName ? [...names, { name: opts.markName, color: "#111" }] : names;
  return svg(frame(opts.title, opts.yLabel, ticks(0, hi, false), y, opts.groups.map((g) => g.label), x, opts.xTitle) + body + legend(items), opts.title);
}

function svg(body: string, title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escape(title)}">${body}</svg>`;
}
