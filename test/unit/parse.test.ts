// The judge's answer is read strictly first, then leniently: JSON in prose, [[A]], "Verdict: B".
import { describe, expect, it } from "vitest";
import { parsePairVerdict } from "../../src/judge/parse";

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
