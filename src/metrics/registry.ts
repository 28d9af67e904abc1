// A small Prometheus registry (counters, gauges, histograms with labels) that renders the text exposition format.
// Our own because prom-client needs Node; this runs unchanged on Workers. Label values are positional for speed.

type Kind = "counter" | "gauge" | "histogram";

interface Family {
  name: string;
  help: string;
  kind: Kind;
  labelNames: readonly string[];
  render(out: string[]): void;
}

/** `\`, `"` and newlines are the only characters a label value must escape. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes backslash and newline (quotes are legal there). */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function formatValue(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (Number.isNaN(value)) return "NaN";
  return String(value);
}

function labelText(names: readonly string[], values: readonly string[], extra = ""): string {
  const parts = names.map((name, i) => `${name}="${escapeLabelValue(values[i] ?? "")}"`);
  if (extra) parts.push(extra);
  return parts.length > 0 ? `{${parts.join(",")}}` : "";
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * One stored series per distinct label-value tuple, found through one Map per label rather than by a key joined from
 * the values, which would build a string per update (a best-of-4 makes a few dozen). `series` keeps them in the order
 * they first appeared, for rendering.
 */
function seriesMap<T>(labelNames: readonly string[], create: (values: string[]) => T) {
  type Entry = { values: string[]; data: T };
  const series: Entry[] = [];
  const root = new Map<string, unknown>();
  let unlabelled: Entry | undefined;
  return {
    series,
    get(values: readonly string[]): T {
      if (values.length !== labelNames.length) throw new Error(`expected labels ${labelNames.join(", ")}`);
      if (values.length === 0) {
        if (unlabelled === undefined) series.push((unlabelled = { values: [], data: create([]) }));
        return unlabelled.data;
      }
      let level = root;
      const last = values.length - 1;
      for (let i = 0; i < last; i++) {
        let next = level.get(values[i]!) as Map<string, unknown> | undefined;
        if (next === undefined) level.set(values[i]!, (next = new Map()));
        level = next;
      }
      let entry = level.get(values[last]!) as Entry | undefined;
      if (entry === undefined) {
        entry = { values: [...values], data: create([...values]) };
        level.set(values[last]!, entry);
        series.push(entry);
      }
      return entry.data;
    },
  };
}

/** A family without labels has exactly one series: it exists (at zero) from the start, as the format expects. */
function withDefaultSeries<T extends { get(values: readonly string[]): unknown }>(labelNames: readonly string[], store: T): T {
  if (labelNames.length === 0) store.get([]);
  return store;
}

export interface Counter {
  inc(labels?: readonly string[], by?: number): void;
  get(labels?: readonly string[]): number;
}

export interface Gauge {
  set(labels: readonly string[], value: number): void;
  inc(labels?: readonly string[], by?: number): void;
  /** Read at scrape time (queue depth): no bookkeeping between scrapes. */
  track(labels: readonly string[], read: () => number): void;
}

export interface Histogram {
  observe(labels: readonly string[], value: number): void;
  count(labels?: readonly string[]): number;
}

export interface Registry {
  counter(name: string, help: string, labelNames?: readonly string[]): Counter;
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge;
  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram;
  render(): string;
}

export const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] as const;

export function createRegistry(): Registry {
  const families = new Map<string, Family>();
  const register = (family: Family) => {
    if (!NAME.test(family.name)) throw new Error(`invalid metric name ${family.name}`);
    for (const label of family.labelNames) if (!LABEL.test(label) || label === "le") throw new Error(`invalid label ${label}`);
    if (families.has(family.name)) throw new Error(`metric ${family.name} registered twice`);
    families.set(family.name, family);
  };

  return {
    counter(name, help, labelNames = []) {
      const store = withDefaultSeries(labelNames, seriesMap(labelNames, () => ({ value: 0 })));
      register({
        name, help, kind: "counter", labelNames,
        render: (out) => store.series.forEach(({ values, data }) => out.push(`${name}${labelText(labelNames, values)} ${formatValue(data.value)}`)),
      });
      return {
        inc(labels = [], by = 1) {
          if (by < 0) throw new Error("a counter only goes up");
          store.get(labels).value += by;
        },
        get: (labels = []) => store.get(labels).value,
      };
    },

    gauge(name, help, labelNames = []) {
      const store = withDefaultSeries(labelNames, seriesMap(labelNames, () => ({ value: 0, read: null as (() => number) | null })));
      register({
        name, help, kind: "gauge", labelNames,
        render: (out) =>
          store.series.forEach(({ values, data }) => out.push(`${name}${labelText(labelNames, values)} ${formatValue(data.read ? data.read() : data.value)}`)),
      });
      return {
        set: (labels, value) => void (store.get(labels).value = value),
        inc: (labels = [], by = 1) => void (store.get(labels).value += by),
        track: (labels, read) => void (store.get(labels).read = read),
      };
    },

    histogram(name, help, labelNames, buckets) {
      const bounds = [...buckets].sort((a, b) => a - b);
      const store = withDefaultSeries(labelNames, seriesMap(labelNames, () => ({ counts: new Array<number>(bounds.length).fill(0), sum: 0, count: 0 })));
      register({
        name, help, kind: "histogram", labelNames,
        render: (out) =>
          store.series.forEach(({ values, data }) => {
            // Stored per bucket, rendered cumulatively as the format requires.
            let cumulative = 0;
            bounds.forEach((bound, i) => {
              cumulative += data.counts[i]!;
              out.push(`${name}_bucket${labelText(labelNames, values, `le="${formatValue(bound)}"`)} ${cumulative}`);
            });
            out.push(`${name}_bucket${labelText(labelNames, values, 'le="+Inf"')} ${data.count}`);
            out.push(`${name}_sum${labelText(labelNames, values)} ${formatValue(data.sum)}`);
            out.push(`${name}_count${labelText(labelNames, values)} ${data.count}`);
          }),
      });
      return {
        observe(labels, value) {
          const data = store.get(labels);
          let bucket = 0;
          while (bucket < bounds.length && !(value <= bounds[bucket]!)) bucket += 1; // NaN falls in no bucket
          if (bucket < bounds.length) data.counts[bucket]! += 1;
          data.sum += value;
          data.count += 1;
        },
        count: (labels = []) => store.get(labels).count,
      };
    },

    render() {
      const out: string[] = [];
      for (const family of families.values()) {
        out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.kind}`);
        family.render(out);
      }
      return `${out.join("\n")}\n`;
    },
  };
}
