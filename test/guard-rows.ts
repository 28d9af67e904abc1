// HaluEval rows for the guard's tests, read from ../shared/data: the ones whose right answer the simulator's
// groundedness stand-in passes and whose hallucinated answer it fails, and a guarded request built on one of them.
import { existsSync, readFileSync } from "node:fs";
import { simulatedGrounding } from "./sim/grounding";
import { bodyText, chatBody } from "./helpers";

const DATA = "../shared/data/halueval-qa.jsonl";

export interface HaluRow {
  knowledge: string;
  question: string;
  right_answer: string;
  hallucinated_answer: string;
}

export function rowsTheStandInSeparates(): HaluRow[] {
  if (!existsSync(DATA)) throw new Error(`${DATA} is missing: the guard tests read HaluEval rows from ../shared/data`);
  const rows = readFileSync(DATA, "utf8").trim().split("\n").map((line) => JSON.parse(line) as HaluRow);
  return rows.filter(
    (r) => simulatedGrounding(r.right_answer, r.knowledge, 0, 1).verdict === "PASS" && simulatedGrounding(r.hallucinated_answer, r.knowledge, 0, 1).verdict === "FAIL",
  );
}

/** A chat request for `row`'s question, guarded against its document, with extra verdict options. */
export const guardedAsk = (row: HaluRow, verdict: Record<string, unknown>) =>
  chatBody({ messages: [{ role: "user", content: row.question }], verdict: { strategy: "guard", context: row.knowledge, ...verdict } });

/**
 * A judge upstream (`inner`) where `row`'s right answer's groundedness check fails at once (503) and every other
 * check comes 30 ms later: a check that fails while another is still on its way. Other calls go straight through.
 */
export function rightAnswerCheckDown(inner: typeof globalThis.fetch, row: HaluRow): typeof globalThis.fetch {
  return async (input, init) => {
    const text = bodyText(init);
    if (!text.includes("<ANSWER>")) return inner(input, init);
    // The answer's own section: the document may hold the right answer's words too.
    if (text.includes(JSON.stringify(`<ANSWER>\n${row.right_answer}`).slice(1, -1))) return new Response("down", { status: 503 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    return inner(input, init);
  };
}
