// Whether an answer only declines to answer: the guard fails those without a judge call (verdict.prefilter). An answer
// that opens like a refusal and then says something ("I cannot say for certain, but the magazine closed in 1846.") is
// checked like any other: dropping an answer that may be grounded costs more than the one judge call it saves.

const OPENER = /^(?:i['’]?m sorry|i am sorry|sorry|i cannot|i can['’]?t|i am unable|i['’]?m unable|i do not know|i don['’]?t know|unfortunately)\b/i;
/** A clause that only apologises: "I'm sorry", "Sorry!". */
const APOLOGY = /^(?:i['’]?m |i am )?(?:very |so |really )?sorry$/i;
/** A clause that declines or says the answer is not known or not in the documents. */
const DECLINES =
  /\b(?:can['’]?t|cannot|unable|not able|do not know|don['’]?t know|do not have|don['’]?t have|no information|not (?:sure|certain)|not (?:mentioned|stated|provided|covered|given)|(?:does|do)(?: not|n['’]t) (?:mention|say|state|contain|include|provide|cover))\b/i;
/**
 * Sentence ends, "but", "however", "so", "therefore", "thus", "hence" and "which means" joints, colons and semicolons:
 * each part must decline on its own ("I can't find a later date, so the magazine of 1844 was first" answers).
 */
const CLAUSE_BREAK = /(?<![.!?])[.!?]+(?: |$)|,? (?:but|so|which means|and so) |,? (?:however|therefore|thus|hence),? |[;:] ?/i;

export function isRefusal(text: string): boolean {
  const trimmed = text.trim();
  if (!OPENER.test(trimmed)) return false;
  // Whitespace made single spaces first: the breaks then match spaces without backtracking over a long run of them, and
  // a run of stops is entered only at its start, so a long answer costs its length, not its square.
  const clauses = trimmed.replace(/\s+/g, " ").split(CLAUSE_BREAK).map((clause) => clause.trim()).filter((clause) => clause !== "");
  return clauses.every((clause) => APOLOGY.test(clause) || DECLINES.test(clause));
}
