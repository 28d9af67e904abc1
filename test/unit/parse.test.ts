// The judge's answer is read strictly first, then leniently: JSON in prose, [[A]], "Verdict: B".
import { describe, expect, it } from "vitest";
import { parsePairVerdict, parseScore } from "../../src/judge/parse";

describe("parsePairVerdict", () => {
  it.each([
    ['{"reasoning":"A is right","winner":"A"}', "A", "A is right"],
    ['Sure. ```json\n{"reasoning": "B cites sources", "winner": "B"}\n```', "B", "B cites sources"],
    ['{"Reasoning":"same","Winner":"tie"}', "tie", "same"],
    ["Both fine but A is clearer.\n\n[[A]]", "A", "Both fine but A is clearer."],
    ["Equal quality. [[C]]", "tie", "Equal quality."],
    ["B answers the question.\nVerdict: B", "B", "B answers the question."],
    ['{"verdict":"response b","explanation":"x"}', "B", "x"],
  ])("reads %j", (text, winner, reasoning) => {
    expect(parsePairVerdict(text)).toEqual({ winner, reasoning });
  });

  it.each(["", "I cannot decide.", '{"winner":"D"}', "[[Z]]"])("refuses %j", (text) => {
    expect(parsePairVerdict(text)).toBeNull();
  });
});

describe("parseScore", () => {
  it.each([
    ['{"justification":"meets most","score":4}', 4, "meets most"],
    ['Here: {"score": "3", "reasoning": "ok"}', 3, "ok"],
    ["Partly right.\nScore: 2", 2, "Partly right."],
    ["Good. [[5]]", 5, "Good."],
  ])("reads %j", (text, score, justification) => {
    expect(parseScore(text, 5)).toEqual({ score, justification });
  });

  it.each(['{"score": 6}', '{"score": 0}', '{"score": 2.5}', "Score: 9", "no idea"])("refuses %j on a 1..5 scale", (text) => {
    expect(parseScore(text, 5)).toBeNull();
  });
});

describe("pathological judge output", () => {
  it("gives up on text full of braces instead of trying every span (a quadratic search would not finish)", () => {
    const text = "{".repeat(100_000) + "}".repeat(100_000);
    expect(parsePairVerdict(text)).toBeNull();
    expect(parseScore(text, 5)).toBeNull();
  });

  it("still finds the JSON after prose that contains braces", () => {
    expect(parsePairVerdict('Compare {a} and {b}: {"reasoning": "B is right", "winner": "B"}')).toEqual({ winner: "B", reasoning: "B is right" });
  });
});
