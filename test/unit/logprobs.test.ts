// Soft verdicts: p(A beats B) read from the logprobs at the verdict token.
import { describe, expect, it } from "vitest";
import { probabilityAOverB, verdictOffset } from "../../src/judge/logprobs";

const tok = (token: string, top: [string, number][] = []) => ({
  token,
  logprob: 0,
  top_logprobs: top.map(([t, p]) => ({ token: t, logprob: Math.log(p) })),
});

describe("probabilityAOverB", () => {
  const text = '{"reasoning":"close","winner":"B"}';

  it("finds the verdict letter in JSON and in [[X]]", () => {
    expect(text[verdictOffset(text)!]).toBe("B");
    const prose = "A is vague. [[A]]";
    expect(prose[verdictOffset(prose)!]).toBe("A");
  });

  it("reads the mass on A against B at the verdict token", () => {
    const offset = verdictOffset(text)!;
    const content = [tok(text.slice(0, offset)), tok("B", [["B", 0.6], ["A", 0.3], ["tie", 0.1]]), tok(text.slice(offset + 1))];
    expect(probabilityAOverB(text, { content })).toBeCloseTo(1 / 3);
  });

  it("accepts tokens that carry the quote with the letter", () => {
    const offset = verdictOffset(text)! - 1;
    const content = [tok(text.slice(0, offset)), tok('"B', [['"B', 0.2], ['"A', 0.8]]), tok(text.slice(offset + 2))];
    expect(probabilityAOverB(text, { content })).toBeCloseTo(0.8);
  });

  it("accepts tokens that carry the closing quote and brace with the letter", () => {
    const offset = verdictOffset(text)!;
    const content = [tok(text.slice(0, offset)), tok('B"}', [['B"}', 0.4], ['A"}', 0.6]])];
    expect(probabilityAOverB(text, { content })).toBeCloseTo(0.6);
  });

  it("is undefined without logprobs or without either letter", () => {
    expect(probabilityAOverB(text, null)).toBeUndefined();
    expect(probabilityAOverB(text, { content: [tok(text, [["x", 1]])] })).toBeUndefined();
  });

  it("is undefined for logprobs of another shape, and a number for logprobs far past what exp() can hold", () => {
    expect(probabilityAOverB(text, { content: [{ token: null, logprob: 0 }] })).toBeUndefined();
    expect(probabilityAOverB(text, { content: [{ token: text, logprob: "x" }] })).toBeUndefined();
    expect(probabilityAOverB(text, { content: [null] })).toBeUndefined();
    const offset = verdictOffset(text)!;
    const letter = { token: "B", logprob: 0, top_logprobs: [{ token: "B", logprob: 800 }, { token: "A", logprob: 800 - Math.log(3) }] };
    const content = [tok(text.slice(0, offset)), letter, tok(text.slice(offset + 1))];
    expect(probabilityAOverB(text, { content })).toBeCloseTo(0.25);
    const tiny = { ...letter, top_logprobs: [{ token: "B", logprob: -900 }, { token: "A", logprob: -900 }] };
    expect(probabilityAOverB(text, { content: [tok(text.slice(0, offset)), tiny, tok(text.slice(offset + 1))] })).toBeCloseTo(0.5);
  });
});
