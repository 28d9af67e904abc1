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

export function records(text: string, source: string): Record<string, unknown>[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) return JSON.parse(trimmed) as Record<string, unknown>[];
  return trimmed.split("\n").filter(Boolean).map((line, i) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`${source}: line ${i + 1} is not JSON`);
    }
  });
}

const str = (value: unknown, field: string, where: string): string => {
  if (typeof value !== "string") throw new Error(`${where}: field ${field} is missing or not text`);
  return value;
};

/** HaluEval QA rows give two items each (the grounded answer and the hallucinated one); HaluBench rows give one. */
export function groundingItems(rows: Record<string, unknown>[], source: string): GroundingItem[] {
  return rows.flatMap((row, i) => {
    const where = `${source} row ${i + 1}`;
    if ("knowledge" in row) {
      const base = { question: str(row.question, "question", where), documents: [str(row.knowledge, "knowledge", where)] };
      return [
        { id: `${i}:right`, ...base, answer: str(row.right_answer, "right_answer", where), label: "PASS" as const },
        { id: `${i}:hallucinated`, ...base, answer: str(row.hallucinated_answer, "hallucinated_answer", where), label: "FAIL" as const },
      ];
    }
    const label = str(row.label, "label", where).toUpperCase();
    if (label !== "PASS" && label !== "FAIL") throw new Error(`${where}: label must be PASS or FAIL`);
    const id = typeof row.id === "string" ? row.id : String(i);
    return [{ id, question: str(row.question, "question", where), documents: [str(row.passage, "passage", where)], answer: str(row.answer, "answer", where), label }];
  });
}

export function pairItems(rows: Record<string, unknown>[], source: string): PairItem[] {
  return rows.map((row, i) => {
    const where = `${source} row ${i + 1}`;
    const label = Number(row.label);
    if (label !== 1 && label !== 2) throw new Error(`${where}: label must be 1 or 2`);
    return { id: String(i), instruction: str(row.input, "input", where), output_1: str(row.output_1, "output_1", where), output_2: str(row.output_2, "output_2", where), label };
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

/** The items of a data file: `limit` and `seed` choose source rows (a HaluEval row gives two items). */
export function loadItems(task: EvalTask, text: string, source: string, limit?: number, seed?: number): (GroundingItem | PairItem)[] {
  const rows = sample(records(text, source), limit, seed);
  return task === "grounding" ? groundingItems(rows, source) : pairItems(rows, source);
}
