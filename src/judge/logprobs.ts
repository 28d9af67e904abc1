// Soft verdicts from token logprobs: the probability mass the judge put on "A" versus "B" at the verdict token.

interface TokenLogprob {
  token: string;
  logprob: number;
  top_logprobs?: { token: string; logprob: number }[];
}

/** Where the verdict letter sits in the judge's text: the JSON value of "winner", or the letter in [[X]]. */
export function verdictOffset(text: string): number | undefined {
  const json = [...text.matchAll(/"winner"\s*:\s*"\s*(A|B|tie)/gi)].at(-1);
  if (json?.index !== undefined) return json.index + json[0].length - json[1]!.length;
  const bracket = [...text.matchAll(/\[\[\s*(A|B|C|tie)\s*\]\]/gi)].at(-1);
  if (bracket?.index !== undefined) return bracket.index + bracket[0].indexOf(bracket[1]!);
  return undefined;
}

/** A token as a server should send it; anything else (a null token, a logprob that is not a number) is not read. */
const wellFormed = (token: unknown): token is TokenLogprob =>
  typeof (token as TokenLogprob | null)?.token === "string" && typeof (token as TokenLogprob).logprob === "number";

/**
 * p(A beats B) read at the token that carries the verdict: mass on tokens that read "A" against tokens that read "B"
 * among the top alternatives. Undefined when the server sent no logprobs, logprobs of another shape, or neither letter
 * among them: the verdict itself stands, without a soft score.
 */
export function probabilityAOverB(text: string, logprobs: unknown): number | undefined {
  const content = (logprobs as { content?: unknown } | null)?.content;
  const offset = verdictOffset(text);
  if (!Array.isArray(content) || offset === undefined) return undefined;
  let position = 0;
  for (const token of content) {
    if (!wellFormed(token)) return undefined;
    const end = position + token.token.length;
    if (offset >= position && offset < end) {
      const top = Array.isArray(token.top_logprobs) && token.top_logprobs.length > 0 ? token.top_logprobs : [token];
      const letters = top.filter(wellFormed).map((alt) => ({ letter: alt.token.replace(/["'\s[\]{},]/g, "").toUpperCase(), logprob: alt.logprob }));
      const votes = letters.filter(({ letter }) => letter === "A" || letter === "B");
      // Relative to the likelier letter, so that no logprob can make a sum overflow or vanish: the ratio is the same.
      const scale = Math.max(...votes.map((vote) => vote.logprob));
      let a = 0;
      let b = 0;
      for (const { letter, logprob } of votes) {
        if (letter === "A") a += Math.exp(logprob - scale);
        else b += Math.exp(logprob - scale);
      }
      const p = a / (a + b);
      return Number.isFinite(p) ? p : undefined;
    }
    position = end;
  }
  return undefined;
}
