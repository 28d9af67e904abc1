// A strict reader of the Prometheus text exposition format (0.0.4), for tests: every line must match the grammar,
// HELP/TYPE come once per family and before its samples, a family's lines are contiguous, no series repeats, and each
// histogram series has ascending `le` buckets with cumulative counts, a +Inf bucket equal to _count, and a _sum.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string | undefined;
  samples: Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const HELP_LINE = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE_START = new RegExp(`^(${NAME})`);
const VALUE = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]Inf|NaN)$/;

function fail(lineNo: number, line: string, why: string): never {
  throw new Error(`line ${lineNo}: ${why}: ${JSON.stringify(line)}`);
}

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

/** Reads `{a="x",b="y"}` from the start of `rest`; only \\, \" and \n are legal escapes. */
function parseLabels(rest: string, lineNo: number, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  if (!rest.startsWith("{")) return { labels, rest };
  let i = 1;
  while (rest[i] !== "}") {
    const name = LABEL_NAME.exec(rest.slice(i))?.[0];
    if (!name) fail(lineNo, line, "bad label name");
    i += name.length;
    if (rest.slice(i, i + 2) !== '="') fail(lineNo, line, "expected =\"");
    i += 2;
    let value = "";
    for (;;) {
      const ch = rest[i];
      if (ch === undefined || ch === "\n") fail(lineNo, line, "unterminated label value");
      if (ch === '"') break;
      if (ch === "\\") {
        const next = rest[i + 1];
        if (next === "\\") value += "\\";
        else if (next === '"') value += '"';
        else if (next === "n") value += "\n";
        else fail(lineNo, line, "bad escape in label value");
        i += 2;
      } else {
        value += ch;
        i += 1;
      }
    }
    i += 1;
    if (name in labels) fail(lineNo, line, `label ${name} repeated`);
    labels[name] = value;
    if (rest[i] === ",") i += 1;
    else if (rest[i] !== "}") fail(lineNo, line, "expected , or }");
  }
  return { labels, rest: rest.slice(i + 1) };
}

function familyOf(sampleName: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(sampleName);
  if (direct && direct.type !== "histogram") return direct;
  const base = sampleName.replace(/_(bucket|sum|count)$/, "");
  const histogram = families.get(base);
  return histogram?.type === "histogram" && base !== sampleName ? histogram : undefined;
}

function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (s.name.endsWith("_bucket")) {
      if (le === undefined) throw new Error(`${s.name}: bucket without le`);
      entry.buckets.push([parseValue(le), s.value]);
    } else if (le !== undefined) throw new Error(`${s.name}: le on a non-bucket sample`);
    else if (s.name.endsWith("_sum")) entry.sum = s.value;
    else entry.count = s.value;
  }
  for (const [key, entry] of series) {
    const where = `${family.name}${key}`;
    if (entry.sum === undefined || entry.count === undefined) throw new Error(`${where}: missing _sum or _count`);
    const last = entry.buckets.at(-1);
    if (!last || last[0] !== Infinity) throw new Error(`${where}: no +Inf bucket last`);
    if (last[1] !== entry.count) throw new Error(`${where}: +Inf bucket ${last[1]} != _count ${entry.count}`);
    entry.buckets.forEach(([bound, count], i) => {
      if (i === 0) return;
      const [prevBound, prevCount] = entry.buckets[i - 1]!;
      if (!(bound > prevBound)) throw new Error(`${where}: le not ascending at ${bound}`);
      if (count < prevCount) throw new Error(`${where}: bucket counts not cumulative at le=${bound}`);
    });
  }
}

export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const families = new Map<string, Family>();
  const seriesSeen = new Set<string>();
  const closed = new Set<string>();
  let current: Family | undefined;
  const enter = (family: Family) => {
    if (current !== family) {
      if (closed.has(family.name)) throw new Error(`family ${family.name} is not contiguous`);
      if (current) closed.add(current.name);
      current = family;
    }
  };
  text.slice(0, -1).split("\n").forEach((line, index) => {
    const lineNo = index + 1;
    if (line.startsWith("#")) {
      const help = HELP_LINE.exec(line);
      const type = TYPE_LINE.exec(line);
      if (!help && !type) fail(lineNo, line, "a comment other than HELP or TYPE");
      const name = (help ?? type)![1]!;
      let family = families.get(name);
      if (!family) families.set(name, (family = { name, type: "untyped", help: undefined, samples: [] }));
      enter(family);
      if (help) {
        if (family.help !== undefined) fail(lineNo, line, "second HELP");
        // HELP escapes only backslash and newline; any other backslash sequence is malformed.
        const decoded = help[2]!.replace(/\\(.?)/g, (_, c: string) => (c === "n" ? "\n" : c === "\\" ? "\\" : fail(lineNo, line, "bad escape in HELP")));
        family.help = decoded;
      } else {
        if (family.samples.length > 0) fail(lineNo, line, "TYPE after samples");
        if (family.type !== "untyped") fail(lineNo, line, "second TYPE");
        family.type = type![2] as Family["type"];
      }
      return;
    }
    const name = SAMPLE_START.exec(line)?.[1];
    if (!name) fail(lineNo, line, "not a sample");
    const { labels, rest } = parseLabels(line.slice(name.length), lineNo, line);
    const parts = rest.split(" ");
    if (parts[0] !== "" || parts.length < 2 || parts.length > 3) fail(lineNo, line, "expected ' value [timestamp]'");
    if (!VALUE.test(parts[1]!)) fail(lineNo, line, "bad value");
    if (parts[2] !== undefined && !/^-?\d+$/.test(parts[2])) fail(lineNo, line, "bad timestamp");
    const family = familyOf(name, families);
    if (!family || family.type === "untyped") fail(lineNo, line, "sample before its TYPE");
    enter(family);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seriesSeen.has(key)) fail(lineNo, line, "series repeated");
    seriesSeen.add(key);
    const value = parseValue(parts[1]!);
    if (family.type === "counter" && !(value >= 0)) fail(lineNo, line, "negative counter");
    family.samples.push({ name, labels, value });
  });
  for (const family of families.values()) if (family.type === "histogram") checkHistogram(family);
  return families;
}

/** The value of the series with exactly these labels; undefined when absent. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels);
  for (const family of families.values()) {
    const hit = family.samples.find(
      (s) => s.name === name && Object.keys(s.labels).length === wanted.length && wanted.every(([k, v]) => s.labels[k] === v),
    );
    if (hit) return hit.value;
  }
  return undefined;
}
