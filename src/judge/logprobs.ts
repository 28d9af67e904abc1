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

/**
 * p(A beats B) read at the token that carries the verdict: mass on tokens that read "A" against tokens that read "B"
 * among the top alternatives. Undefined when the server sent no logprobs or neither letter is among them.
 */
export function probabilityAOverB(text: string, logprobs: unknown): number | undefined {
  const content = (logprobs as { content?: TokenLogprob[] } | null)?.content;
  const offset = verdictOffset(text);
  if (!Array.isArray(content) || offset === undefined) return undefined;
  let position = 0;
  for (const token of content) {
    const end = position + token.token.length;
    if (offset >= position && offset < end) {
      const alternatives = token.top_logprobs?.length ? token.top_logprobs : [token];
      let a = 0;
      let b = 0;
      for (const alt of alternatives) {
        const letter = alt.token.replace(/["'\s[\]]/g, "").toUpperCase();
        if (letter === "A") a += Math.exp(alt.logprob);
        if (letter === "B") b += Math.exp(alt.logprob);
      }
      return a + b > 0 ? a / (a + b) : undefined;
    }
    position = end;
  }
  return undefined;
}
