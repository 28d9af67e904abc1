// Lenient reading of a judge's pairwise answer: strict JSON first, then JSON inside prose, then [[A]] or "winner: A".
import type { PairWinner } from "../../strategies/types";

export interface ParsedPair {
  winner: PairWinner;
  reasoning: string;
}

function normaliseWinner(raw: unknown): PairWinner | null {
  if (typeof raw !== "string") return null;
  const value = raw.trim().replace(/^["'[(]+|["'\])]+$/g, "").toUpperCase();
  if (value === "A" || value === "RESPONSE A" || value === "RESPONSE_A") return "A";
  if (value === "B" || value === "RESPONSE B" || value === "RESPONSE_B") return "B";
  if (value === "TIE" || value === "C" || value === "DRAW" || value === "EQUAL") return "tie";
  return null;
}

function fromObject(value: unknown): ParsedPair | null {
  if (typeof value !== "object" || value === null) return null;
  const record = Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v]));
  const winner = normaliseWinner(record.winner ?? record.verdict ?? record.better ?? record.choice);
  if (!winner) return null;
  const reasoning = record.reasoning ?? record.rationale ?? record.explanation ?? "";
  return { winner, reasoning: typeof reasoning === "string" ? reasoning : JSON.stringify(reasoning) };
}

/** Every balanced {...} span in the text, outermost first. */
function* jsonObjects(text: string): Generator<unknown> {
  for (let start = text.indexOf("{"); start !== -1; start = text.indexOf("{", start + 1)) {
    for (let end = text.lastIndexOf("}"); end > start; end = text.lastIndexOf("}", end - 1)) {
      try {
        yield JSON.parse(text.slice(start, end + 1));
        break;
      } catch {
        // not JSON between these braces; try a shorter span
      }
    }
  }
}

export function parsePairVerdict(text: string): ParsedPair | null {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  for (const candidate of jsonObjects(trimmed)) {
    const parsed = fromObject(candidate);
    if (parsed) return parsed;
  }
  const bracket = /\[\[\s*(A|B|C|tie)\s*\]\]/i.exec(trimmed);
  const labelled = /\b(?:verdict|winner|final answer)\s*[:=]\s*\**\s*(A|B|tie)\b/i.exec(trimmed);
  const match = bracket ?? labelled;
  const winner = match ? normaliseWinner(match[1]) : null;
  if (!winner || !match) return null;
  return { winner, reasoning: trimmed.slice(0, match.index).trim() };
}
