// Reading a guard's check: did the judge find the answer supported by the documents (PASS) or not (FAIL)?
//
// The guard returns only what passed, so the reading is lopsided on purpose. A FAIL counts wherever and however the
// judge writes it. A PASS counts only where nothing can be mistaken: under structured output, the schema's object
// exactly; otherwise, a PASS that ends its clause, with no FAIL anywhere and no second thoughts after it. Anything
// else is unreadable, asked again, and failed if still unreadable.
import { firstText, jsonObjects, lowerCased, NOTHING_QUOTED, objectIn, plainText, quotedSpan, unescaped, type Quoted } from "./parse";

export interface ParsedGrounding {
  verdict: "PASS" | "FAIL";
  reasoning: string;
}

type Said = "PASS" | "FAIL" | null;

/** Words a judge may give as its verdict meaning the answer is not supported (any case). */
const FAILING_WORD =
  /^(?:fail(?:s|ed|ing|ure)?|unsupported|unsupportable|not[ \t]+\p{L}+|partial(?:ly)?(?: supported)?|unverified|unverifiable|unsubstantiated|ungrounded|unfounded|unfaithful|hallucinat\w*|contradict\w*|fabricated|refuted|false|untrue|incorrect|inaccurate|erroneous|wrong|invalid|inconsistent|mismatch(?:ed)?|insufficient|questionable|misleading|negative|nope|rejected?|❌|✗|✘|✖|❎|⛔|🚫|👎)$/iu;
/** Words that mean the answer passed but are not the PASS asked for: they neither pass nor fail it. */
const PASSING_WORD = /^(?:passed|supported|fully supported|grounded|faithful|true|yes|correct|ok|okay|✓|✔|✅)$/i;

/** A verdict as the judge wrote it ("Fail ", "**PASS**", "FAIL."): PASS, FAIL, or nothing for a word that says neither. */
function saidBy(raw: string): Said {
  // No verdict is longer; a long value fails without being scanned (the strip below is quadratic in a run of marks).
  if (raw.length > 40) return "FAIL";
  const word = plainText(raw).trim().replace(/^["'`[(*_]+|["'`\])*_.!]+$/g, "").trim();
  if (word.toUpperCase() === "PASS") return "PASS";
  if (word === "" || PASSING_WORD.test(word)) return null;
  // Any other value of a verdict field fails the answer: "FAILED", "NOT SUPPORTED", "F", "PASS (2 of 3)".
  return "FAIL";
}

/** Field names that hold a verdict: "verdict", "label", "result", a list of them, or a named one ("final_verdict"). */
const VERDICT_FIELD = /^(?:[a-z]+[ _-])*(?:verdict|label|result)s?$/;
/** Yes-or-no fields a judge may add of its own: false for these fails the answer ... */
const SUPPORT_FIELD = /^(?!(?:not|no|non)_)(?:[a-z]+_)?(?:supported|grounded|faithful|factual|correct|accurate)(?:_[a-z]+)?$/;
/** ... and true for these. */
const FAULT_FIELD = /^(?:[a-z]+_)?(?:hallucinat\w*|unsupported\w*|contradict\w*|fabricat\w*|not_(?:supported|grounded|faithful|factual|accurate))$/;

const isNo = (value: unknown) =>
  value === false || value === 0 || (typeof value === "string" && /^(?:false|no|partly|partial(?:ly)?(?: supported)?)[.!]?$/i.test(value.trim()));
/** Yes: true, "yes", a count above 0, or a list of them ("unsupported_claims": ["1932"]). */
const isYes = (value: unknown) =>
  value === true || (typeof value === "number" && value > 0) || (Array.isArray(value) && value.length > 0) || (typeof value === "string" && /^(?:true|yes)$/i.test(value.trim()));

/**
 * What an object's own fields say, all of them ({"verdict": "PASS", "RESULT": "FAIL"}, a list under "verdicts",
 * "supported": false): FAIL if any fails the answer, else PASS if one says PASS. A judge that contradicts itself has
 * not passed the answer.
 */
function verdictFields(record: object): Said {
  let verdict: Said = null;
  for (const [key, value] of Object.entries(record)) {
    const name = key.trim().toLowerCase();
    if (SUPPORT_FIELD.test(name) && isNo(value)) return "FAIL";
    if (FAULT_FIELD.test(name) && isYes(value)) return "FAIL";
    if (name === "status" && typeof value === "string" && FAILING_WORD.test(value.trim().replace(/[_-]+/g, " "))) return "FAIL";
    if (!VERDICT_FIELD.test(name)) continue;
    for (const said of Array.isArray(value) ? value : [value]) {
      // A verdict given as false, 0 or null is no pass.
      const read = typeof said === "string" ? saidBy(said) : said === false || said === 0 || said === null ? "FAIL" : null;
      if (read === "FAIL") return read;
      verdict ??= read;
    }
  }
  return verdict;
}

/**
 * Verdict fields as the object's text writes them. Of a key given twice JSON.parse keeps the last, and a candidate
 * copied in with its quotes unescaped can add one: every value written counts.
 */
const VERDICT_FIELD_TEXT = /"\s*(?:[a-z]+[ _-])*(?:verdict|label|result)s?\s*"\s*:\s*\[?\s*"([^"\\]*)"/gi;

function failedInText(span: string): boolean {
  for (const match of unescaped(span).matchAll(VERDICT_FIELD_TEXT)) if (saidBy(match[1]!) === "FAIL") return true;
  return false;
}

/** Nesting this deep is no judge's claim list; deeper values are not searched. */
const MAX_CLAIM_DEPTH = 6;

/** The first object nested in `value` (not `value` itself) whose fields fail the answer. */
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

/**
 * The answer as structured output asks for it: one object with REASONING and VERDICT and nothing else, VERDICT exactly
 * PASS or FAIL, given once. Only then is it read by its fields alone (its reasoning may quote a document's "verdict:
 * fail" without being one). A server that ignored the schema and wrote something else is read like any other text.
 */
function heldToSchema(text: string): ParsedGrounding | null {
  if (!text.startsWith("{") || !text.endsWith("}")) return null;
  let record: Record<string, unknown> | null;
  try {
    record = objectIn(text);
  } catch {
    return null;
  }
  if (record === null || Object.keys(record).length !== 2) return null;
  const { reasoning, verdict } = record;
  if (typeof reasoning !== "string" || (verdict !== "PASS" && verdict !== "FAIL")) return null;
  if (verdict === "PASS" && failedInText(text)) return null;
  return { verdict, reasoning };
}

/**
 * "VERDICT: PASS", "**Verdict:** fail", "Final verdict — ❌", "Verdict: ✅ PASS", "Result: PASS", "Verdict:\nPASS": the
 * word verdict (or result, overall, status, decision, rating, final answer, grounding check), a mark, and the word or
 * sign that follows, on the same line or up to two lines down (markdown and quotes around it allowed). Every run is
 * bounded, and each line break is a step of its own, so linear.
 */
const VERDICT_LABEL =
  /\b(verdict|result|overall|status|decision|rating|final answer|grounding check)\b["*_`]{0,4}[ \t]{0,4}([:=]|->|=>|--?|[\u2013\u2014\u2192]|\bis\b)(?:[ \t*_`]{0,4}\r?\n){0,2}[ \t*_`"'([✅]{0,8}((?:not|partially)[ \t]{1,4}\p{L}+|\p{L}+|❌|✗|✘|✖|❎|⛔|🚫|👎|✓|✔|✅)/giu;
/**
 * Labels under which a judge writes nothing but its verdict, when marked as a field ("Verdict: Mostly", not "the
 * verdict is clear"): a word there alone (ending its clause) that neither passes nor fails leaves the judge's verdict
 * unread, and no PASS beside it counts ("Claim 1: Verdict: PASS / Claim 2: Verdict: Dubious"). The first word of a
 * sentence ("Verdict: The answer is supported.") is no verdict.
 */
const VERDICT_ONLY_LABEL = /^(?:verdict|final answer|grounding check)$/i;
/** What ends a verdict given as one word, read from where the word ends (sticky). */
const WORD_ALONE = /[*_`"')\]]{0,8}[ \t]{0,8}(?:[.!?;,]|\r?\n|$)/y;
const DOUBLE_BRACKETS = /\[\[\s*([^\]\n]{1,20}?)\s*\]\]/g;
/** Marks that close a PASS ("**PASS**", "`PASS`"), read from where it ends. */
const CLOSERS = /[*_`"')\]]{0,8}/y;

/** Words that make what comes before them conditional: "PASS - although 1932 is absent", "PASS. Except that ...". */
const CONDITION =
  "(?:except|although|though|but|however|unless|if|provided|assuming|only|\\d+[ \\t]*(?:of|/)[ \\t]*\\d+|(?:0|no|none)[ \\t]+(?:of[ \\t]+the[ \\t]+)?(?:claims?|statements?)[ \\t]+(?:are[ \\t]+|is[ \\t]+)?supported)\\b";

/**
 * What may follow a PASS for it to be one, read from where the PASS ends (sticky): the clause ends there, at the end
 * of the text, a tick; or at the end of the line, a stop, a dash before more words, a comma or a colon, unless a
 * condition follows. Not "PASS? No.", "PASS is not warranted", "PASS would require ...", "PASS/fail hinges on ...",
 * "PASS (0 of 3 claims supported)", "PASS, except the date", "PASS - although the year is absent", "PASS. However,
 * ..." or "PASS: 0 of 3 claims are supported".
 */
const CLAUSE_ENDS = new RegExp(
  "[*_`\"')\\]}]{0,8}[ \\t]{0,8}(?:$|[✅✓✔]|" +
    `(?:\\n|[.!](?:\\s|$)|[-\\u2013\\u2014][ \\t])(?![ \\t\\n]{0,4}${CONDITION})|` +
    `[,;:](?![ \\t]{0,4}(?:with\\b|${CONDITION}))(?:\\s|$))`,
  "iy",
);

/** Failing words a claim may be marked with. */
const CLAIM_FAILS =
  "(?:fail(?:s|ed)?|unsupported|unverified|unsubstantiated|ungrounded|hallucinated|contradicted|false|incorrect|(?:only )?partially supported|no support|not (?:supported|grounded|found|mentioned))" +
  "(?:[ \\t]+(?:by|in)[ \\t]+the[ \\t]+(?:documents?|context|sources?|passage|text))?";

/**
 * "Claim 2: Fail", "claim 3 (the date) -> failed.", "Claim 4 → not supported by the document", "Statement 2:
 * unsupported - the document says 1931", and without a mark "Claim 2 unsupported." (a number, then the word): the
 * word "claim" or "statement", up to 80 characters on the same line and in the same sentence, a mark (:, =, ->, an
 * arrow, a dash, a table's bar), then a failing word that ends the clause (a stop, a bracket, a comma, a colon, a
 * dash, a bar, the line's end), in any case. Not "Claim 1: Failed logins lock the account" or "Claim 2: not supported
 * by the document? It is.": there the word starts the claim's own text. Every run is bounded (runs of spaces side by
 * side once made this cubic: 600 spaces cost 0.6 s), so linear.
 */
const CLAIM_MARKED_FAILED = new RegExp(
  "\\b(?:claim|statement)\\b(?:[^\\n.:=>|\\u2192]{0,80}(?::|=|->|=>|-|\\u2013|\\u2014|\\u2192|\\|)|[ \\t]{0,4}#?\\d{1,4}[ \\t]{1,4})" +
    // A dash ends the clause only after a space: "Fail-safe valves" is a claim's own text.
    `[ \\t*❌✗✘]{0,8}${CLAIM_FAILS}(?:[ \\t*]{0,8}(?=[.,;:!()[\\]|]|$)|[ \\t*]{1,8}(?=[-\\u2013\\u2014]))`,
  "im",
);

/** A table cell that holds only a failing word ("| 2 | 1932 | ❌ Not supported |"). */
const CELL_FAILS = new RegExp(`\\|[ \\t❌✗✘*]{0,8}${CLAIM_FAILS}[ \\t.*]{0,8}(?=\\|)`, "i");

/**
 * "Hallucination detected", "the answer contains a hallucination", "Unsupported claims: 2", "the answer
 * hallucinates", "the response invents a date" (not "invents nothing"): a failure told of the answer as a whole, in
 * any case.
 */
const ANSWER_FAULTS =
  /(?<!\bno[ \t]{1,3})\bhallucinations?[ \t]{1,3}(?:detected|found|present)\b|(?<!(?:\bnot|n't|\bnever)[ \t]{1,3})\bcontains?[ \t]{1,3}(?:an?[ \t]{1,3})?hallucination|\bunsupported[ \t]{1,3}claims?[ \t]{0,3}:[ \t]{0,3}[1-9]|\bhallucinates\b|(?<!\b(?:no|not|nothing|none|neither|nor|never)\b[^.\n;]{0,40}|n't\b[^.\n;]{0,40})\bcontradicts[ \t]{1,3}the[ \t]{1,3}(?:documents?|context|sources?|passages?|text)\b|\b(?:answer|response)[ \t]{1,3}(?:also[ \t]{1,3})?(?:invents|fabricates|makes[ \t]{1,3}up)\b(?![ \t]{1,3}(?:nothing|no\b|none|not\b|any\b))/i;

/**
 * "Claim 2 supported? No.", "Statement 3 in the document? ❌": a claim asked about and answered no on the same line.
 * Bounded like the marks above, so linear.
 */
const CLAIM_ANSWERED_NO =
  /\b(?:claim|statement)\b[^\n?]{0,80}(?<!\bnot[ \t]{1,3}|n't[ \t]{1,3})\b(?:supported|grounded|verified|in the (?:documents?|context|text))[ \t*]{0,4}\?[ \t*_:]{0,8}(?:no\b|[❌✗✘])/i;

/** A negation earlier in the clause ("Nothing in the answer is fabricated", "Neither claim contradicts it"). */
const NEGATED = "(?<!\\b(?:no|not|nothing|none|neither|nor|without|never)\\b[^.\\n;]{0,40}|n't\\b[^.\\n;]{0,40})";

const ADVERB = "(?:(?:actually|entirely|completely|wholly|fully|partly|partially|largely|also)[ \\t]+)?";
const WHERE = "(?:found[ \\t]+|mentioned[ \\t]+(?:anywhere[ \\t]+)?|stated[ \\t]+|present[ \\t]+)?in[ \\t]+the[ \\t]+(?:documents?|context|sources?|passages?|text)";

/**
 * "Claim 2 is unsupported", "both claims are not in the document", "the second statement is contradicted by the
 * context", "claim 3 isn't fully supported", "claim 4 cannot be verified": a claim (or statement) said in one clause to
 * lack support. Not "no claim is unsupported", "none of the claims are unsupported", "it has no claim that is not in
 * the document", "claim 2 is not unsupported" or "all claims are supported, none is unsupported" (the clause ends at a
 * comma). A judge that says so and then PASS has contradicted itself, and the guard reads the failing half. Bounded
 * like the mark above, so linear.
 */
const CLAIM_SAID_UNSUPPORTED = new RegExp(
  "(?<!\\b(?:no|any|neither|none of the(?: \\d+)?|not one|not a single|if a|if the)[ \\t]{1,3})\\b(?:claims?|statements?|assertions?)\\b[^\\n.,;:?!]{0,80}?" +
    "(?:\\b(?:is|are|was|were|remains?)" +
    `(?:[ \\t]+${ADVERB}(?:unsupported|unverified|unverifiable|unsubstantiated|ungrounded|unfounded|hallucinated|fabricated|invented|made up|contradicted|false|untrue|incorrect|inaccurate|erroneous|misleading|wrong|uncorroborated|unjustified|speculative|extrapolated|absent)` +
    `|(?:n't|[ \\t]+not)[ \\t]+${ADVERB}(?:supported|grounded|verified|verifiable|backed|corroborated|confirmed|${WHERE}))` +
    "|\\b(?:cannot|can't|could not|couldn't)[ \\t]+be[ \\t]+(?:verified|confirmed|found)" +
    "|\\b(?:lacks?|lacking|has[ \\t]+no|have[ \\t]+no)[ \\t]+(?:any[ \\t]+)?(?:support|evidence|basis|grounding)|\\b(?:goes|go|is|are)[ \\t]+(?:beyond|outside)[ \\t]+(?:the|what)|(?<!(?:\\bnot|n't|\\bnever)[ \\t]{1,3})\\bcontradicts?)\\b",
  "i",
);

/**
 * "The answer is unsupported", "so the response isn't grounded": the answer as a whole, said to lack support right
 * after its verb. Not "the answer is not in the document", which a correct "the documents do not say" also is.
 */
const ANSWER_SAID_UNSUPPORTED = new RegExp(
  "(?<!\\b(?:nothing|no part|none) (?:in|of) (?:the )?)\\b(?:answer|response)[ \\t]+(?:is|was)" +
    `(?:[ \\t]+${ADVERB}(?:unsupported|unverified|hallucinated|fabricated|contradicted|incorrect|false)` +
    `|(?:n't|[ \\t]+not)[ \\t]+${ADVERB}(?:supported|grounded|backed))\\b`,
  "i",
);

/**
 * Second thoughts after the last PASS ("... Wait, the year is wrong. Changing to fail.", "I retract the PASS"): words
 * that take a verdict back or fail an answer, in any case. A PASS followed by them is no verdict; one followed by
 * anything else ("VERDICT: PASS. Every claim is in the document.") stands.
 */
const SECOND_THOUGHTS = new RegExp(
  "(?<!\\b(?:no|not|nothing|without|never)[ \\t]{1,3})\\b(?:fail\\w*|unsupported|hallucinat\\w*|contradict\\w*|incorrect|wrong|mistaken?)\\b" +
    "|(?:\\bnot|n't)[ \\t]+(?:supported|mentioned|appear)\\b|\\bno (?:evidence|basis)\\b|\\b(?:i meant|oops)\\b|\\b(?:retract\\w*|revis\\w*|correct(?:ion|ing)|wait|second thought|closer inspection|on reflection|scratch that|not quite)\\b" +
    `|${NEGATED}\\b(?:fabricat\\w*|made up(?! of)|unverifiable|inaccurate|untrue|erroneous|absent from|speculative|extrapolat\\w*|unjustified|(?:goes|is)[ \\t]+(?:beyond|outside)[ \\t]+the|cannot be (?:confirmed|verified)|lacks?[ \\t]+support)\\b` +
    "|\\bactually,?[ \\t]+no\\b|\\bhas no[ \\t]+support\\b|\\bnot[ \\t]+(?:stated|backed|corroborated)\\b" +
    "|\\bshould(?:n't|[ \\t]+not)[ \\t]+(?:pass|be)\\b|\\b(?:falla\\w*|fallido|nicht bestanden|durchgefallen|fehlgeschlagen)\\b|\\u00e9chec",
  "i",
);

/** Failing words and signs that count wherever they stand: FAIL in capitals (the verdict word asked for) and crosses. */
const FAIL_ANYWHERE = /\bFAIL(?:S|ED)?\b|[❌✗✘✖❎⛔🚫]/u;

/**
 * "Supported: No", "- **Grounded:** false", "Hallucination: yes": a yes-or-no line of the judge's own, as the JSON
 * fields above read it, at the start of a line.
 */
const LINE_SAYS_NO =
  /^[ \t]*(?:(?:[-*•]|\d{1,3}[.)])[ \t]*)?(?:[*_]{0,2}(?:claim|statement)[ \t]*#?\d{0,4}[*_]{0,2}[ \t]*(?:[-:\u2013\u2014]|->)[ \t]*)?[*_]{0,2}(?:(?:supported|grounded|faithful|factual|accurate|correct)[*_]{0,2}[ \t]*[:=][ \t*_]{0,6}(?:no|false|partly|partial(?:ly)?)|(?:hallucinat\w*|unsupported|fabricat\w*|contradict\w*)[*_]{0,2}[ \t]*[:=][ \t*_]{0,6}(?:yes|true))\b/im;

interface Found {
  verdict: "PASS" | "FAIL";
  reasoning: string;
  /** Where in the read text the verdict ends: what follows the last PASS is read for second thoughts. */
  end: number;
}

/** The JSON objects' verdicts, their failed claims among them. */
function jsonVerdicts(text: string, quoted: Quoted): Found[] {
  const found: Found[] = [];
  let readUpTo = -1;
  for (const { record, span, end } of jsonObjects(text)) {
    // An object inside one read already is one of its claims, read from its parsed value below.
    if (end <= readUpTo) continue;
    readUpTo = end;
    // Claims inside it are read from the parsed value: the brace search looks at a bounded number of objects, and an
    // answer listing twenty claims must not hide the one that failed.
    const claim = failedClaim(record, 0);
    const verdict = claim === undefined && failedInText(span) ? "FAIL" : verdictFields(record);
    // A failure counts wherever it is written; a pass quoted from the answer or the documents is not the judge's.
    // Compared as written, and as a verdict field alone: the judge may quote a candidate's object with its fields
    // in another order.
    if (verdict === "PASS" && claim === undefined && (quotedSpan(span, text, quoted) || (span.length !== text.length && quoted.holds('"verdict":"pass"')))) continue;
    const reasoning = firstText(record, ["reasoning", "rationale", "explanation"]);
    if (verdict) found.push({ verdict, reasoning, end: end + 1 });
    if (claim) found.push({ verdict: "FAIL", reasoning: firstText(lowerCased(claim) ?? {}, ["reasoning", "rationale", "explanation", "claim"]) || reasoning, end: end + 1 });
  }
  return found;
}

/** Verdicts given in prose: after the word verdict, in double brackets, or as the whole answer. */
function proseVerdicts(text: string, quoted: Quoted): { found: Found[]; unread: boolean } {
  const found: Found[] = [];
  let unread = false;
  const labelled = (match: RegExpMatchArray, word: string, verdictOnly: boolean, viaIs = false) => {
    const end = match.index! + match[0].length;
    // "The result is not surprising": a sentence, not a verdict.
    if (viaIs && /^not\s/i.test(word)) return;
    if (FAILING_WORD.test(word)) return void found.push({ verdict: "FAIL", reasoning: text.slice(0, match.index).trim(), end });
    WORD_ALONE.lastIndex = end;
    const alone = /^no$/i.test(word) || WORD_ALONE.test(text);
    if (verdictOnly && alone && word.toUpperCase() !== "PASS" && !PASSING_WORD.test(word) && !quoted.holds(match[0])) unread = true;
    CLAUSE_ENDS.lastIndex = end;
    if (word.toUpperCase() !== "PASS" || !CLAUSE_ENDS.test(text) || quoted.holds(match[0])) return;
    CLOSERS.lastIndex = end;
    const closed = end + CLOSERS.exec(text)![0].length;
    found.push({ verdict: "PASS", reasoning: text.slice(0, match.index).trim(), end: closed });
  };
  for (const match of text.matchAll(VERDICT_LABEL)) {
    const viaIs = /is/i.test(match[2]!);
    labelled(match, match[3]!, VERDICT_ONLY_LABEL.test(match[1]!) && !viaIs, viaIs);
  }
  // "[[Source 1]]" is a citation; a verdict in brackets is one word.
  for (const match of text.matchAll(DOUBLE_BRACKETS)) labelled(match, match[1]!.trim(), /^\p{L}+$/u.test(match[1]!.trim()));
  // Only a short answer can be one word (and a trailing run of spaces costs a regular expression its square).
  const whole = text.length > 40 ? "" : text.replace(/^[\s*_`"'#✅]+|[\s*_`"'.!✅]+$/g, "");
  const wholeSays = whole.toUpperCase() === "PASS" ? "PASS" : FAILING_WORD.test(whole) ? "FAIL" : null;
  if (wholeSays) found.push({ verdict: wholeSays, reasoning: "", end: text.length });
  return { found, unread };
}

/**
 * A judge asked to go claim by claim may give a verdict per claim and then an overall one, in JSON objects or in
 * prose. Every verdict found counts, and one FAIL anywhere fails the answer: an unsupported claim is what the check
 * is for, and a guard that must choose between readings of the judge's words chooses the one that returns nothing
 * unsupported. Without structured output (or when the judge's server ignored it) the reasoning inside the JSON object
 * the prompt asks for is read too: a claim marked FAIL in any words ("Claim 2: FAIL.", "(claim about Tokyo: FAIL)",
 * "Claim 2 is contradicted by the document") fails the answer, even beside an overall PASS. The last PASS must not be
 * followed by second thoughts: "VERDICT: PASS. Wait, the year is wrong." is no verdict.
 */
export function parseGrounding(text: string, structured = false, quoted: Quoted = NOTHING_QUOTED): ParsedGrounding | null {
  const trimmed = text.trim();
  if (structured) {
    const bound = heldToSchema(trimmed);
    if (bound) return bound;
  }
  const plain = plainText(trimmed);
  const inJson = jsonVerdicts(plain, quoted);
  const prose = proseVerdicts(plain, quoted);
  const found = [...inJson, ...prose.found];
  const failed = found.find((f) => f.verdict === "FAIL");
  if (failed) return { verdict: "FAIL", reasoning: failed.reasoning };
  const failing = [FAIL_ANYWHERE, CLAIM_MARKED_FAILED, CELL_FAILS, CLAIM_SAID_UNSUPPORTED, CLAIM_ANSWERED_NO, ANSWER_SAID_UNSUPPORTED, ANSWER_FAULTS, LINE_SAYS_NO];
  if (failing.some((rule) => rule.test(plain))) return { verdict: "FAIL", reasoning: plain };
  const last = found.reduce<Found | null>((latest, f) => (latest === null || f.end >= latest.end ? f : latest), null);
  if (last === null || prose.unread || SECOND_THOUGHTS.test(plain.slice(last.end))) return null;
  // A pass is told in the JSON's own reasoning where there is one.
  const told = inJson.length > 0 ? inJson[inJson.length - 1]! : last;
  return { verdict: "PASS", reasoning: told.reasoning };
}
