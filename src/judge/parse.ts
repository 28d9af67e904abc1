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

const squeezed = (text: string) => text.replace(/\s+/g, "").toLowerCase();

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
function lowerCased(record: object): Record<string, unknown> | null {
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
function objectIn(span: string): Record<string, unknown> | null {
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
const quotedSpan = (span: string, answer: string, quoted: Quoted) => span.length !== answer.length && quoted.holds(span);

/**
 * An object's text with its \u escapes written out, as JSON.parse reads them: a key or value spelt with escapes
 * (`"win\u006eer"`) is the same key to it, and must be to the checks that read the text.
 */
const unescaped = (span: string) => span.replace(/\\u([0-9a-fA-F]{4})/g, (_escape, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

/**
 * Parseable {...} spans in the text, earliest start first, longest span first. Starts are tried among the first and
 * the last braces: braces a quoted candidate piles up in front must not push the judge's own closing object out of
 * the search.
 */
function* jsonObjects(text: string): Generator<{ record: Record<string, unknown>; span: string; end: number }> {
  const ends = bracePositions(text, "}", true);
  const starts = [...new Set([...bracePositions(text, "{", false), ...bracePositions(text, "{", true)])].sort((a, b) => a - b);
  for (const start of starts) {
    for (const end of ends.filter((e) => e > start)) {
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

export interface ParsedGrounding {
  verdict: "PASS" | "FAIL";
  reasoning: string;
}

function normaliseGrounding(raw: unknown): "PASS" | "FAIL" | null {
  if (typeof raw !== "string") return null;
  const value = raw.trim().replace(/^["'[(*]+|["'\])*.]+$/g, "").toUpperCase();
  return value === "PASS" || value === "FAIL" ? value : null;
}

const VERDICT_FIELD = /^(?:verdict|label|result)s?$/i;

/** A verdict field saying FAIL as an object's text writes it (a list of them included). */
const FAIL_FIELD_TEXT = /"(?:verdict|label|result)s?"\s*:\s*\[?\s*"\s*fail\b/i;

/**
 * What an object's verdict fields say, all of them in any case ({"verdict": "PASS", "RESULT": "FAIL"}, a list under
 * "verdicts"): FAIL if any says FAIL, else PASS if one says PASS. A judge that contradicts itself has not passed the
 * answer.
 */
function verdictFields(record: object): "PASS" | "FAIL" | null {
  let verdict: "PASS" | null = null;
  for (const [key, value] of Object.entries(record)) {
    if (!VERDICT_FIELD.test(key)) continue;
    for (const said of Array.isArray(value) ? value : [value]) {
      const read = normaliseGrounding(said);
      if (read === "FAIL") return read;
      verdict ??= read;
    }
  }
  return verdict;
}

/** Nesting this deep is no judge's claim list; deeper values are not searched. */
const MAX_CLAIM_DEPTH = 6;

/** The first object nested in `value` (not `value` itself) whose verdict fields say FAIL. */
function failedClaim(value: unknown, depth: number): Record<string, unknown> | undefined {
  if (depth >= MAX_CLAIM_DEPTH || typeof value !== "object" || value === null) return undefined;
  for (const inner of Object.values(value)) {
    if (typeof inner !== "object" || inner === null) continue;
    if (!Array.isArray(inner) && verdictFields(inner) === "FAIL") return inner as Record<string, unknown>;
    const deeper = failedClaim(inner, depth + 1);
    if (deeper) return deeper;
  }
  return undefined;
}

/** Whether the text is one JSON object as a whole, as structured output gives. */
function isOneObject(text: string): boolean {
  if (!text.startsWith("{") || !text.endsWith("}")) return false;
  try {
    return objectIn(text) !== null;
  } catch {
    return false;
  }
}

/**
 * "Claim 2: Fail", "claim 3 (the date) -> failed.", "Claim 4 = not supported by the document": the word "claim", up to
 * 80 characters on the same line and in the same sentence, a mark (:, =, ->, a dash), then a failing word that ends the
 * clause (a stop, a bracket, a comma, the line's end), in any case. Not "Claim 1: Failed logins lock the account" or
 * "Claim 2: not supported by the document? It is.": there the word starts the claim's own text. Bounded, so linear.
 */
const CLAIM_MARKED_FAILED =
  /\bclaim\b[^\n.:=>]{0,80}(?::|=|->|=>|-|\u2013|\u2014)[ \t]*\**[ \t]*(?:fail(?:s|ed)?|unsupported|not supported(?:[ \t]+by[ \t]+the[ \t]+(?:documents?|context|sources?|passage|text))?)\**[ \t]*(?=[.,;!()[\]]|$)/im;

/**
 * "Claim 2 is unsupported", "both claims are not in the document", "claim 3 (the date) is not fully supported by the
 * context": a claim said in one clause to lack support. Not "no claim is unsupported", "none of the claims are
 * unsupported", "it has no claim that is not in the document" or "all claims are supported, none is unsupported"
 * (the clause ends at a comma). A judge that says so and then PASS has contradicted itself, and the guard reads the
 * failing half. Bounded like the mark above, so linear.
 */
const CLAIM_SAID_UNSUPPORTED =
  /(?<!\b(?:no|any|none of the|not one|not a single|if a|if the)[ \t]{1,3})\bclaims?\b[^\n.,;:?!]{0,80}?\b(?:is|are|was|were|remains?)(?:[ \t]+(?:(?:entirely|completely|wholly|fully|partly|partially|largely|also)[ \t]+)?(?:unsupported|unverified)|(?:n't|[ \t]+not)[ \t]+(?:(?:entirely|completely|wholly|fully|partly|partially|largely|also)[ \t]+)?(?:supported|(?:found[ \t]+|mentioned[ \t]+|stated[ \t]+|present[ \t]+)?in[ \t]+the[ \t]+(?:documents?|context|sources?|passages?|text)))\b/i;

/**
 * A judge asked to go claim by claim may give a verdict per claim and then an overall one, in JSON objects or in
 * prose. Every verdict found counts, and one FAIL anywhere fails the answer: an unsupported claim is what the check
 * is for, and a guard that must choose between readings of the judge's words chooses the one that returns nothing
 * unsupported. The judge's whole answer as one JSON object, when structured output held it to the schema
 * (`structured`), has one verdict. Anything else is read more widely still, the reasoning inside such an object
 * included (without structured output the built-in prompt asks for that same object): a claim marked FAIL in any
 * words ("Claim 2: FAIL.", "(claim about Tokyo: FAIL)") fails the answer, even beside an overall PASS.
 */
export function parseGrounding(text: string, structured = false, quoted: Quoted = NOTHING_QUOTED): ParsedGrounding | null {
  const trimmed = text.trim();
  const found: ParsedGrounding[] = [];
  let readUpTo = -1;
  for (const { record, span, end } of jsonObjects(trimmed)) {
    // An object inside one read already is one of its claims, read from its parsed value below.
    if (end <= readUpTo) continue;
    readUpTo = end;
    // Claims inside it are read from the parsed value: the brace search above looks at a bounded number of objects,
    // and an answer listing twenty claims must not hide the one that failed.
    const claim = failedClaim(record, 0);
    // Without a failed claim, a FAIL field in the object's text still counts where the parsed value holds another: of
    // a key given twice JSON.parse keeps the last, and a candidate copied in with its quotes unescaped can add one.
    const verdict = claim === undefined && FAIL_FIELD_TEXT.test(unescaped(span)) ? "FAIL" : verdictFields(record);
    // A failure counts wherever it is written; a pass quoted from the answer or the documents is not the judge's.
    if (verdict === "PASS" && claim === undefined && quotedSpan(span, trimmed, quoted)) continue;
    const reasoning = firstText(record, ["reasoning", "rationale", "explanation"]);
    if (verdict) found.push({ verdict, reasoning });
    if (claim) found.push({ verdict: "FAIL", reasoning: firstText(lowerCased(claim) ?? {}, ["reasoning", "rationale", "explanation", "claim"]) || reasoning });
  }
  const inJson = found.length;
  // One JSON object that structured output held to the schema says its verdicts in its fields, its claims' included:
  // its reasoning may quote "verdict: fail" from a document without being one. Prose is read for verdicts too, JSON or
  // not: "VERDICT: FAIL" for one claim before a JSON summary that says PASS still fails.
  const schemaBound = structured && isOneObject(trimmed);
  if (!(inJson > 0 && schemaBound)) {
    for (const match of trimmed.matchAll(/\bverdict\**\s*[:=]\s*(?:\*+\s*)?"?(PASS|FAIL)\b|\[\[\s*(PASS|FAIL)\s*\]\]/gi)) {
      const verdict = normaliseGrounding(match[1] ?? match[2]);
      if (verdict === "PASS" && quoted.holds(match[0])) continue;
      if (verdict) found.push({ verdict, reasoning: trimmed.slice(0, match.index).trim() });
    }
  }
  // Upper case anywhere: a judge's prose may say "fail" in passing, but FAIL is the verdict word it was asked for. In
  // any case where a claim is marked with it ("Claim 2: Fail", "claim 3 is unsupported -> failed") or said to lack
  // support ("Claim 2 is not in the document").
  const flagged = schemaBound ? null : (/\bFAIL(?:S|ED)?\b/.exec(trimmed) ?? CLAIM_MARKED_FAILED.exec(trimmed) ?? CLAIM_SAID_UNSUPPORTED.exec(trimmed));
  if (flagged) found.push({ verdict: "FAIL", reasoning: trimmed });
  // A pass is told in the JSON's own reasoning where there is one.
  return found.find((f) => f.verdict === "FAIL") ?? found[inJson > 0 ? inJson - 1 : found.length - 1] ?? null;
}
