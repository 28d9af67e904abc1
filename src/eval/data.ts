// Evaluation data sets, read into one shape per task: HaluEval QA and HaluBench rows for grounding, LLMBar for pairwise.
import { hashText, seededRandom } from "../util/random";

export interface GroundingItem {
  id: string;
  question: string;
  documents: string[];
  answer: string;
  label: "PASS" | "FAIL";
}

export interface PairItem {
  id: string;
  instruction: string;
  output_1: string;
  output_2: string;
  label: 1 | 2;
}

export type EvalTask = "grounding" | "pairwise";

/** One record of a data file: its place in the file (so ids and messages survive sampling) and, in JSONL, its line. */
export interface SourceRow {
  /** 0-based position among the file's records, blank lines not counted. */
  index: number;
  /** 1-based line in a JSONL file, blank lines counted, as an editor shows it. */
  line?: number;
  fields: Record<string, unknown>;
}

function asFields(value: unknown, source: string, place: string): Record<string, unknown> {
  // A null, a number or an array would otherwise surface later as a TypeError with no hint of which row it was.
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${source}: ${place} is not an object (got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value})`);
  }
  return value as Record<string, unknown>;
}

export function records(raw: string, source: string): SourceRow[] {
  // A byte-order mark (editors on Windows write one) is no part of the first row.
  const text = raw.startsWith("\uFEFF") ? raw.slice(1) : raw;
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    let rows: unknown[];
    try {
      rows = JSON.parse(trimmed) as unknown[];
    } catch (err) {
      throw new Error(`${source}: not JSON (${(err as Error).message})`);
    }
    return rows.map((row, index) => ({ index, fields: asFields(row, source, `row ${index + 1}`) }));
  }
  // Numbered before blank lines are skipped, so a message names the line an editor shows.
  const numbered = text.split("\n").map((content, i) => ({ content, line: i + 1 }));
  return numbered
    .filter(({ content }) => content.trim() !== "")
    .map(({ content, line }, index) => {
      let row: unknown;
      try {
        row = JSON.parse(content);
      } catch {
        throw new Error(`${source}: line ${line} is not JSON`);
      }
      return { index, line, fields: asFields(row, source, `line ${line}`) };
    });
}

/** Reads fields of one record; a problem names the file's row and, in JSONL, its line. */
function reader(row: SourceRow, source: string) {
  const fail = (problem: string) => new Error(`${source} row ${row.index + 1}: ${problem}${row.line ? ` (line ${row.line})` : ""}`);
  const str = (field: string): string => {
    const value = row.fields[field];
    if (typeof value !== "string") throw fail(`field ${field} is missing or not text`);
    return value;
  };
  return { fields: row.fields, fail, str };
}

/** HaluEval QA rows give two items each (the grounded answer and the hallucinated one); HaluBench rows give one. */
export function groundingItems(rows: SourceRow[], source: string): GroundingItem[] {
  return rows.flatMap((row) => {
    const { fields, fail, str } = reader(row, source);
    if ("knowledge" in fields) {
      const base = { question: str("question"), documents: [str("knowledge")] };
      return [
        { id: `${row.index}:right`, ...base, answer: str("right_answer"), label: "PASS" as const },
        { id: `${row.index}:hallucinated`, ...base, answer: str("hallucinated_answer"), label: "FAIL" as const },
      ];
    }
    const label = str("label").toUpperCase();
    if (label !== "PASS" && label !== "FAIL") throw fail("label must be PASS or FAIL");
    const id = typeof fields.id === "string" ? fields.id : String(row.index);
    return [{ id, question: str("question"), documents: [str("passage")], answer: str("answer"), label }];
  });
}

export function pairItems(rows: SourceRow[], source: string): PairItem[] {
  return rows.map((row) => {
    const { fields, fail, str } = reader(row, source);
    // 1 or 2, as a number or its text; not `true`, which Number() would make 1.
    const label = typeof fields.label === "number" || typeof fields.label === "string" ? Number(fields.label) : NaN;
    if (label !== 1 && label !== 2) throw fail("label must be 1 or 2");
    return { id: String(row.index), instruction: str("input"), output_1: str("output_1"), output_2: str("output_2"), label };
  });
}

/** A seeded sample: the same seed and limit always pick the same rows, in the file's order when no seed is given. */
export function sample<T>(items: T[], limit: number | undefined, seed: number | undefined): T[] {
  const order = [...items];
  if (seed !== undefined) {
    const random = seededRandom(hashText(`eval:${seed}`));
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
  }
  return limit === undefined ? order : order.slice(0, limit);
}

/**
 * The items of a data file: `limit` and `seed` choose source rows (a HaluEval row gives two items). Ids name the file's
 * row (0-based), so the same row keeps its id whichever seed picked it.
 */
export function loadItems(task: EvalTask, text: string, source: string, limit?: number, seed?: number): (GroundingItem | PairItem)[] {
  const rows = sample(records(text, source), limit, seed);
  const other = otherTaskOf(task, rows[0]);
  if (other) throw new Error(`${source} holds ${other} rows (${ROW_SHAPES[other]}), not ${task} ones: run it with --task ${other}`);
  return task === "grounding" ? groundingItems(rows, source) : pairItems(rows, source);
}

const ROW_SHAPES: Record<EvalTask, string> = {
  grounding: "knowledge, question, right_answer, hallucinated_answer; or passage, question, answer, label",
  pairwise: "input, output_1, output_2, label",
};

/** The task a row belongs to when it is clearly the other task's: a file run with the wrong --task says so. */
function otherTaskOf(task: EvalTask, row: SourceRow | undefined): EvalTask | null {
  if (!row) return null;
  const has = (...names: string[]) => names.every((name) => name in row.fields);
  if (task === "grounding" && has("output_1", "output_2") && !has("answer") && !has("knowledge")) return "pairwise";
  if (task === "pairwise" && (has("knowledge", "right_answer") || has("passage", "answer")) && !has("output_1")) return "grounding";
  return null;
}
