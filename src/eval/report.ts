// A self-contained HTML report of an evaluation (inline CSS and SVG, no scripts, nothing fetched), for a browser offline.
import type { EvalSummary } from "./metrics";

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const pct = (value: number | null | undefined) => (value === null || value === undefined ? "n/a" : `${(100 * value).toFixed(1)}%`);

function confusionSvg(confusion: Record<string, Record<string, number>>): string {
  const labels = Object.keys(confusion);
  const predictions = Object.keys(confusion[labels[0]!] ?? {});
  const max = Math.max(1, ...labels.flatMap((l) => predictions.map((p) => confusion[l]![p]!)));
  const cell = 80;
  const cells = labels.flatMap((label, row) =>
    predictions.map((p, col) => {
      const value = confusion[label]![p]!;
      const shade = Math.round(235 - (value / max) * 175);
      const [x, y] = [100 + col * cell, 40 + row * cell];
      return `<rect x="${x}" y="${y}" width="${cell - 4}" height="${cell - 4}" fill="rgb(${shade},${shade + 10},255)"/>` +
        `<text x="${x + cell / 2 - 2}" y="${y + cell / 2 + 4}" text-anchor="middle">${value}</text>`;
    }),
  );
  const heads = predictions.map((p, col) => `<text x="${100 + col * cell + cell / 2 - 2}" y="30" text-anchor="middle">${escape(p)}</text>`);
  const sides = labels.map((l, row) => `<text x="90" y="${40 + row * cell + cell / 2 + 4}" text-anchor="end">${escape(l)}</text>`);
  const width = 110 + predictions.length * cell;
  const height = 50 + labels.length * cell;
  return `<svg width="${width}" height="${height + 20}" role="img" aria-label="confusion matrix">` +
    `<text x="${100 + (predictions.length * cell) / 2}" y="12" text-anchor="middle" font-weight="bold">predicted</text>` +
    `<text x="10" y="${height + 15}" font-weight="bold">actual (rows)</text>${heads.join("")}${sides.join("")}${cells.join("")}</svg>`;
}

function histogramSvg(latencies: number[]): string {
  if (latencies.length === 0) return "<p>No judge call was answered (every judgment came from the cache, or the judge failed).</p>";
  const bins = 20;
  const max = Math.max(...latencies) || 1;
  const counts = new Array<number>(bins).fill(0);
  for (const value of latencies) counts[Math.min(bins - 1, Math.floor((value / max) * bins))]! += 1;
  const top = Math.max(...counts);
  const bars = counts.map((count, i) => {
    const h = (count / top) * 160;
    return `<rect x="${40 + i * 24}" y="${180 - h}" width="20" height="${h}" fill="#5b7bd5"><title>${count} calls</title></rect>`;
  });
  return `<svg width="540" height="220" role="img" aria-label="judge latency histogram">${bars.join("")}` +
    `<line x1="40" y1="180" x2="520" y2="180" stroke="#333"/><text x="40" y="198">0 ms</text>` +
    `<text x="520" y="198" text-anchor="end">${max.toFixed(0)} ms</text><text x="40" y="14">${top} calls (tallest bar)</text></svg>`;
}

/** Says which items the figures count, so an accuracy over few verdicts is not read as one over all items. */
export function leftOut(summary: EvalSummary): string {
  const figures = "fail" in summary ? "Accuracy, FAIL precision, recall and F1" : "Accuracy and position consistency";
  return `${figures} count only the ${summary.scored} items with a readable verdict; ` +
    `${summary.errors} judge errors and ${summary.unparsed} unreadable judge answers are left out.`;
}

export function renderReport(summary: EvalSummary, latencies: number[], meta: Record<string, unknown>): string {
  const figures: [string, string][] = [
    ["items judged", String(summary.rows)],
    ["accuracy", pct(summary.accuracy)],
    ...("fail" in summary
      ? ([["FAIL precision", pct(summary.fail.precision)], ["FAIL recall", pct(summary.fail.recall)], ["FAIL F1", pct(summary.fail.f1)]] as [string, string][])
      : ([["position consistency", pct(summary.position_consistency)], ["ties", String(summary.ties)]] as [string, string][])),
    ["items with a readable verdict", String(summary.scored)],
    ["judge errors", String(summary.errors)],
    ["unreadable judge answers", String(summary.unparsed)],
    ["mean / p95 judge latency", `${summary.latency_ms.mean.toFixed(0)} / ${summary.latency_ms.p95.toFixed(0)} ms`],
    ["judge calls / cache hits", `${summary.judge.calls} / ${summary.judge.cache_hits}`],
    ["judge tokens", String(summary.judge.usage.total_tokens)],
  ];
  const rows = summary.wrong
    .slice(0, 500)
    .map((w) => `<tr><td>${escape(w.id)}</td><td>${escape(w.label)}</td><td>${escape(w.predicted)}</td><td>${escape(w.error ?? w.reasoning)}</td></tr>`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>verdict eval: ${escape(summary.task)}</title>
<style>body{font:14px/1.5 system-ui,sans-serif;margin:2rem;max-width:1100px}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
table{border-collapse:collapse}svg text{font:12px system-ui,sans-serif}.meta{color:#555}</style></head><body>
<h1>verdict eval: ${escape(summary.task)}</h1>
<p class="meta">${Object.entries(meta).map(([k, v]) => `${escape(k)}: ${escape(String(v))}`).join(" · ")}</p>
<table>${figures.map(([k, v]) => `<tr><th>${escape(k)}</th><td>${escape(v)}</td></tr>`).join("")}</table>
<p>${escape(leftOut(summary))}</p>
<h2>Confusion matrix</h2>${confusionSvg(summary.confusion)}
<h2>Judge latency</h2>${histogramSvg(latencies)}
<h2>Rows it got wrong or gave no readable verdict for (${summary.wrong.length}${summary.wrong.length > 500 ? ", first 500 shown" : ""})</h2>
<table><tr><th>row</th><th>label</th><th>predicted</th><th>judge's reasoning</th></tr>${rows.join("")}</table>
</body></html>`;
}
