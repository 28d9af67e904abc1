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

/**
 * Texts the judge was shown that are not verdict's own words: the candidates (and for a guard, the documents and the
 * question). A verdict in the judge's answer that one of them also writes (a candidate's own "[[B]]" or
 * {"VERDICT": "PASS"}, which the judge quoted back), compared without white space or case, is not the judge's, and is
 * not read. If the judge's own verdict is written like one of them, it is not read either: the answer is then
 * unreadable, asked again, and at worst a tie (a guard fails it), which is the side to err on.
 */
export interface Quoted {
  holds(fragment: string): boolean;
}

export const NOTHING_QUOTED: Quoted = { holds: () => false };

/**
 * A text as a reader sees it: compatibility forms folded (a full-width ＦＡＩＬ is FAIL, a no-break space a space),
 * invisible format characters dropped (F\u200bAIL), curly apostrophes made straight. A judge's words are read so, and
 * what it was shown is compared so.
 */
export function plainText(text: string): string {
  return text.normalize("NFKC").replace(/\p{Cf}/gu, "").replace(/[\u2018\u2019\u02bc]/g, "'");
}

const squeezed = (text: string) => plainText(text).replace(/\s+/g, "").toLowerCase();

/**
 * Distinct verdicts looked up in one answer, at most: an honest judge writes a few (only fragments that would count as
 * a verdict are looked up), and each lookup searches every quoted text (megabytes of documents, at worst a millisecond
 * or more per fragment). Past this, the rest count as quoted, which leaves such an answer unreadable.
 */
const MAX_LOOKUPS = 32;

/** Where a quoted text goes on past a fragment found in it: "winner:a" in "winner:argentina", "score:4" in "score:4.5". */
const WORD_GOES_ON = /^(?:[a-z0-9_]|\.\d)/;

/**
 * Whether `sought` is in `text` (both squeezed) other than as the start of a longer word or number. Only its end is
 * looked at: squeezing glues a word to the one before it ("final verdict" is "finalverdict").
 */
function standsIn(text: string, sought: string): boolean {
  if (!/[a-z0-9_]$/.test(sought)) return text.includes(sought);
  for (let at = text.indexOf(sought); at !== -1; at = text.indexOf(sought, at + 1)) {
    if (!WORD_GOES_ON.test(text.slice(at + sought.length, at + sought.length + 2))) return true;
  }
  return false;
}

/**
 * The texts are gathered at the first question only (most answers are read without one), and each fragment is looked
 * up once: an answer that repeats a marker a thousand times must not search megabytes of documents a thousand times.
 */
export function quotedIn(texts: () => string[]): Quoted {
  let gathered: string[] | undefined;
  const answered = new Map<string, boolean>();
  return {
    holds(fragment) {
      const sought = squeezed(fragment);
      let held = answered.get(sought);
      if (held === undefined) {
        if (answered.size >= MAX_LOOKUPS) return true;
        gathered ??= texts().map(squeezed);
        held = sought !== "" && gathered.some((text) => standsIn(text, sought));
        answered.set(sought, held);
      }
      return held;
    },
  };
}

/**
 * At most this many opening and closing braces are tried as the ends of an object: a judge's JSON is the whole answer
 * or sits near its end, and a pathological answer must cost a bounded number of parses, not a quadratic one.
 */
const MAX_BRACES = 16;

/**
 * Characters handed to JSON.parse in one answer's search, at most. An object nested thousands deep parses almost to
 * its end from every brace tried (60 KB cost 0.4 s, now about 50 ms); an honest answer of max_tokens' length makes
 * few tries and stays far below this.
 */
const MAX_PARSED_CHARS = 1_000_000;

function bracePositions(text: string, brace: "{" | "}", fromEnd: boolean): number[] {
  const found: number[] = [];
  let at = fromEnd ? text.lastIndexOf(brace) : text.indexOf(brace);
  while (at !== -1 && found.length < MAX_BRACES) {
    found.push(at);
    at = fromEnd ? (at === 0 ? -1 : text.lastIndexOf(brace, at - 1)) : text.indexOf(brace, at + 1);
  }
  return found;
}

/**
 * The object's keys in lower case, or null when two of them differ only in case ({"verdict": "FAIL", "VERDICT":
 * "PASS"}): which of them counts cannot be told, so the object says nothing.
 */
export function lowerCased(record: object): Record<string, unknown> | null {
  // No prototype: a key "__proto__" in the judge's JSON is a field like any other, not the object's prototype.
  const lowered: Record<string, unknown> = Object.create(null);
  for (const [key, value] of Object.entries(record)) {
    const name = key.toLowerCase();
    if (Object.hasOwn(lowered, name)) return null;
    lowered[name] = value;
  }
  return lowered;
}

/** The span as an object with its keys in lower case; null when it is another JSON value; throws when not JSON. */
export function objectIn(span: string): Record<string, unknown> | null {
  const value: unknown = JSON.parse(span);
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  // Structured output's keys are lower case already: copied only when one is not.
  for (const key in value) {
    if (key === key.toLowerCase()) continue;
    const lowered = lowerCased(value);
    if (lowered === null) throw new SyntaxError("an object with one key given twice in different cases");
    return lowered;
  }
  return value as Record<string, unknown>;
}

/** An object quoted from what the judge was shown; the whole answer is always the judge's own. */
export const quotedSpan = (span: string, answer: string, quoted: Quoted) => span.length !== answer.length && quoted.holds(span);

/**
 * An object's text with its \u escapes written out, as JSON.parse reads them: a key or value spelt with escapes
 * (`"win\u006eer"`) is the same key to it, and must be to the checks that read the text.
 */
export const unescaped = (span: string) => span.replace(/\\u([0-9a-fA-F]{4})/g, (_escape, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

/**
 * Parseable {...} spans in the text, earliest start first, longest span first. Starts are tried among the first and
 * the last braces: braces a quoted candidate piles up in front must not push the judge's own closing object out of
 * the search.
 */
export function* jsonObjects(text: string): Generator<{ record: Record<string, unknown>; span: string; end: number }> {
  const ends = bracePositions(text, "}", true);
  const starts = [...new Set([...bracePositions(text, "{", false), ...bracePositions(text, "{", true)])].sort((a, b) => a - b);
  let parsed = 0;
  for (const start of starts) {
    for (const end of ends.filter((e) => e > start)) {
      if ((parsed += end + 1 - start) > MAX_PARSED_CHARS) return;
      const span = text.slice(start, end + 1);
      try {
        const record = objectIn(span);
        if (record !== null) yield { record, span, end };
        break;
      } catch {
        // not JSON between these braces; try a shorter span
      }
    }
  }
}

/**
 * The first object jsonObjects finds that `read` accepts. The whole answer, as structured output gives it, is the
 * first span the search tries: it is read directly, without the search's generator and brace lists (about 2% of a
 * best-of-4 request's CPU under load, once per judge call).
 */
function firstReadable<T>(text: string, quoted: Quoted, read: (record: Record<string, unknown>, span: string) => T | null): T | null {
  if (text.startsWith("{") && text.endsWith("}")) {
    try {
      const whole = objectIn(text);
      const value = whole === null ? null : read(whole, text);
      if (value !== null) return value;
    } catch {
      // not JSON as a whole; the search below tries the shorter spans
    }
  }
  for (const { record, span } of jsonObjects(text)) {
    const value = read(record, span);
    // Looked up only when it would count: most objects a judge quotes (data rows) give no verdict.
    if (value !== null && !quotedSpan(span, text, quoted)) return value;
  }
  return null;
}

export function firstText(record: Record<string, unknown>, keys: string[]): string {
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

/** An answer that names both A and B (or a winner and a tie): unreadable, so it is asked again and never cached. */
const CONTRADICTION = Symbol("contradiction");

/** The one winner `named` names (null when none does), or CONTRADICTION when they differ. */
function agreed<T>(named: readonly T[], nameOf: (item: T) => PairWinner | null): PairWinner | null | typeof CONTRADICTION {
  let winner: PairWinner | null = null;
  for (const item of named) {
    const name = nameOf(item);
    if (name === null) continue;
    if (winner !== null && name !== winner) return CONTRADICTION;
    winner = name;
  }
  return winner;
}

const WINNER_FIELDS = ["winner", "verdict", "better", "choice"] as const;

/** Winner fields as the object's text writes them: JSON.parse keeps only the last of a key given twice. */
const WINNER_FIELD_TEXT = /"(?:winner|verdict|better|choice)"\s*:\s*"([^"\\]*)"/gi;

/**
 * A JSON answer's verdict; its fields that name one ({"winner": "A", "verdict": "B"}) must agree, and so must a key
 * given twice in its text ({"winner": "A", "reasoning": "...", "winner": "B"}: a candidate copied into the reasoning
 * without its quotes escaped can close the string and add one).
 */
function pairIn(record: Record<string, unknown>, span: string): ParsedPair | null | typeof CONTRADICTION {
  const winner = agreed(WINNER_FIELDS, (field) => normaliseWinner(record[field]));
  if (winner === null || winner === CONTRADICTION) return winner;
  if (agreed([...unescaped(span).matchAll(WINNER_FIELD_TEXT)], (field) => normaliseWinner(field[1])) === CONTRADICTION) return CONTRADICTION;
  return { winner, reasoning: firstText(record, ["reasoning", "rationale", "explanation"]) };
}

export function parsePairVerdict(text: string, quoted: Quoted = NOTHING_QUOTED): ParsedPair | null {
  const trimmed = text.trim();
  // Structured output: the whole answer is the one object, read without a search.
  if (trimmed.startsWith("{") && trimmed.endsWith("}")) {
    try {
      const whole = objectIn(trimmed);
      const read = whole === null ? null : pairIn(whole, trimmed);
      if (read === CONTRADICTION) return null;
      if (read !== null) return read;
    } catch {
      // not JSON as a whole; the search below tries the shorter spans
    }
  }
  // JSON in prose: every object that names a winner must name the same one ("[A first] ... {"winner": "B"}" is no answer).
  let fromJson: ParsedPair | null = null;
  for (const { record, span } of jsonObjects(trimmed)) {
    const read = pairIn(record, span);
    // Looked up only when it would count: most objects a judge quotes (data rows) name no winner.
    if (read === null || quotedSpan(span, trimmed, quoted)) continue;
    if (read === CONTRADICTION || (fromJson !== null && read.winner !== fromJson.winner)) return null;
    fromJson ??= read;
  }
  if (fromJson !== null) return fromJson;
  // Then the conventions, all of them: "[[A]] no wait [[B]]" or "Verdict: A ... Verdict: B" names no winner.
  const marks = [...trimmed.matchAll(/\[\[\s*(A|B|C|tie)\s*\]\]/gi), ...labelledWinners(trimmed)]
    .filter((mark) => !quoted.holds(mark[0]))
    .sort((x, y) => x.index - y.index);
  const winner = agreed(marks, (mark) => normaliseWinner(mark[1]));
  if (winner === null || winner === CONTRADICTION) return null;
  return { winner, reasoning: trimmed.slice(0, marks[0]!.index).trim() };
}

/**
 * "Verdict: B", "winner = tie", "verdict: b", "**Verdict**: Response A": the label (bold or not) and the letter in any
 * case, except a lowercase "a" that a word follows, which is the article ("Verdict: a tie", "Winner: a clear B"), not
 * response A.
 */
function labelledWinners(text: string): RegExpExecArray[] {
  const found: RegExpExecArray[] = [];
  for (const match of text.matchAll(/\b(?:verdict|winner|final answer)\**\s*[:=]\s*(?:\*+\s*)?(?:an?\s+)?(?:response\s+)?(A|B|tie)\b/gi)) {
    const article = match[1] === "a" && /^\s+[a-z]/i.test(text.slice(match.index + match[0].length));
    if (!article) found.push(match as RegExpExecArray);
  }
  return found;
}

function validScore(raw: unknown, scale: number): number | null {
  // Digits only when written as text: Number() would also read "0x4" or "4e0".
  const value = typeof raw === "string" ? (/^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN) : raw;
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= scale ? value : null;
}

/**
 * A grade. In JSON, the first object that gives one (nested criteria may hold scores of their own). In prose, the
 * [[n]] marks, or failing those the "score:" labels, must all give the same grade: "[[5]] ... [[1]]" grades nothing
 * (as two winners name none), while "accuracy score: 5 ... [[4]]" is a 4.
 */
/** Grade fields as an object's text writes them. */
const SCORE_FIELD_TEXT = /"(?:score|rating|grade)"\s*:\s*"?\s*(\d+)/gi;

/** A JSON grade that contradicts itself: the answer has none, whatever its prose says. */
const UNREADABLE_GRADE = { score: Number.NaN, justification: "" };

export function parseScore(text: string, scale: number, quoted: Quoted = NOTHING_QUOTED): ParsedScore | null {
  const trimmed = text.trim();
  const fromJson = firstReadable(trimmed, quoted, (record, span) => {
    const score = validScore(record.score ?? record.rating ?? record.grade, scale);
    if (score === null) return null;
    // A grade given twice in the text of an object with no criteria inside (whose own scores are not its grade) is
    // unreadable: JSON.parse keeps the last, which a candidate copied in unescaped can add.
    const flat = !Object.values(record).some((value) => typeof value === "object" && value !== null);
    if (flat && [...unescaped(span).matchAll(SCORE_FIELD_TEXT)].some((field) => Number(field[1]) !== score)) return UNREADABLE_GRADE;
    return { score, justification: firstText(record, ["justification", "reasoning", "rationale", "explanation"]) };
  });
  if (fromJson === UNREADABLE_GRADE) return null;
  if (fromJson !== null) return fromJson;
  const own = (matches: IterableIterator<RegExpMatchArray>) => [...matches].filter((match) => !quoted.holds(match[0]));
  const marks = own(trimmed.matchAll(/\[\[\s*(\d+)\s*\]\]/g));
  const given = marks.length > 0 ? marks : own(trimmed.matchAll(/\b(?:score|rating)\**\s*[:=]\s*(?:\*+\s*)?(\d+)\b/gi));
  const first = given[0];
  if (first === undefined || given.some((match) => Number(match[1]) !== Number(first[1]))) return null;
  const score = validScore(Number(first[1]), scale);
  return score !== null ? { score, justification: trimmed.slice(0, first.index).trim() } : null;
}
