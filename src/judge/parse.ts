// Lenient reading of a judge's answer: strict JSON first, then JSON inside prose, then conventions like [[A]],
// "Verdict: B" or "Score: 4". Returns null when nothing usable is there (the caller retries once).
import type { PairWinner } from "../../strategies/types";

export interface ParsedPair {
  winner: PairWinner;
  reasoning: string;
}

export interface ParsedScore {
  score: number;
  justification: string;
}

/** At most this many opening braces are tried: a judge answer is short, a pathological one must not cost seconds. */
const MAX_JSON_STARTS = 16;

/** Every parseable {...} span in the text, earliest start first, longest span first. */
function* jsonObjects(text: string): Generator<Record<string, unknown>> {
  let start = text.indexOf("{");
  for (let tried = 0; start !== -1 && tried < MAX_JSON_STARTS; tried++, start = text.indexOf("{", start + 1)) {
    for (let end = text.lastIndexOf("}"); end > start; end = text.lastIndexOf("}", end - 1)) {
      try {
        const value: unknown = JSON.parse(text.slice(start, end + 1));
        if (typeof value === "object" && value !== null && !Array.isArray(value)) {
          yield Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v]));
        }
        break;
      } catch {
        // not JSON between these braces; try a shorter span
      }
    }
  }
}

function firstText(record: Record<string, unknown>, keys: string[]): string {
  const value = keys.map((k) => record[k]).find((v) => v !== undefined) ?? "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function normaliseWinner(raw: unknown): PairWinner | null {
  if (typeof raw !== "string") return null;
  const value = raw.trim().replace(/^["'[(]+|["'\])]+$/g, "").toUpperCase();
  if (value === "A" || value === "RESPONSE A" || value === "RESPONSE_A") return "A";
  if (value === "B" || value === "RESPONSE B" || value === "RESPONSE_B") return "B";
  if (value === "TIE" || value === "C" || value === "DRAW" || value === "EQUAL") return "tie";
  return null;
}

export function parsePairVerdict(text: string): ParsedPair | null {
  const trimmed = text.trim();
  for (const record of jsonObjects(trimmed)) {
    const winner = normaliseWinner(record.winner ?? record.verdict ?? record.better ?? record.choice);
    if (winner) return { winner, reasoning: firstText(record, ["reasoning", "rationale", "explanation"]) };
  }
  const match = /\[\[\s*(A|B|C|tie)\s*\]\]/i.exec(trimmed) ?? /\b(?:verdict|winner|final answer)\s*[:=]\s*\**\s*(A|B|tie)\b/i.exec(trimmed);
  const winner = match ? normaliseWinner(match[1]) : null;
  return winner && match ? { winner, reasoning: trimmed.slice(0, match.index).trim() } : null;
}

function validScore(raw: unknown, scale: number): number | null {
  const value = typeof raw === "string" ? Number(raw.trim()) : raw;
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= scale ? value : null;
}

export function parseScore(text: string, scale: number): ParsedScore | null {
  const trimmed = text.trim();
  for (const record of jsonObjects(trimmed)) {
    const score = validScore(record.score ?? record.rating ?? record.grade, scale);
    if (score !== null) return { score, justification: firstText(record, ["justification", "reasoning", "rationale", "explanation"]) };
  }
  const match = /\[\[\s*(\d+)\s*\]\]/.exec(trimmed) ?? /\b(?:score|rating)\s*[:=]\s*\**\s*(\d+)\b/i.exec(trimmed);
  const score = match ? validScore(Number(match[1]), scale) : null;
  return score !== null && match ? { score, justification: trimmed.slice(0, match.index).trim() } : null;
}

export interface ParsedGrounding {
  verdict: "PASS" | "FAIL";
  reasoning: string;
}

function normaliseGrounding(raw: unknown): "PASS" | "FAIL" | null {
  if (typeof raw !== "string") return null;
  const value = raw.trim().replace(/^["'[(*]+|["'\])*.]+$/g, "").toUpperCase();
  return value === "PASS" || value === "FAIL" ? value : null;
}

export function parseGrounding(text: string): ParsedGrounding | null {
  const trimmed = text.trim();
  for (const record of jsonObjects(trimmed)) {
    const verdict = normaliseGrounding(record.verdict ?? record.label ?? record.result);
    if (verdict) return { verdict, reasoning: firstText(record, ["reasoning", "rationale", "explanation"]) };
  }
  const match = /\bverdict\s*[:=]\s*\**\s*"?(PASS|FAIL)\b/i.exec(trimmed) ?? /\[\[\s*(PASS|FAIL)\s*\]\]/i.exec(trimmed);
  const verdict = match ? normaliseGrounding(match[1]) : null;
  return verdict && match ? { verdict, reasoning: trimmed.slice(0, match.index).trim() } : null;
}
