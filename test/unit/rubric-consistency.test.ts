// Rubric scoring and self-consistency voting, against scripted judges.
import { describe, expect, it } from "vitest";
import { messageText } from "../../src/openai/chat";
import { consistency, finalAnswer } from "../../strategies/consistency";
import { rubric } from "../../strategies/rubric";
import { arrive, byQuality, candidate, ctxWith, scriptedJudge } from "../scripted-judge";

const rubricOptions = { strategy: "rubric" as const, rubric: "Be correct.", scale: 5 };

describe("rubric", () => {
  it("scores every candidate once, in parallel, and picks the highest normalised score", async () => {
    const grades = [2, 5, 3];
    const judge = scriptedJudge(() => "tie", 5, (c) => grades[c.index]!);
    const started = Date.now();
    const selection = await rubric.select(arrive([0, 1, 2].map((i) => candidate(i))), rubricOptions, ctxWith(judge));
    expect(Date.now() - started).toBeLessThan(50);
    expect(judge.calls).toHaveLength(3);
    expect(selection.winner).toBe(1);
    expect(selection.scores).toEqual({ 0: 0.25, 1: 1, 2: 0.5 });
    expect(selection.ranking).toEqual([1, 2, 0]);
    expect(selection.rationale).toMatch(/^Scored 5\/5: graded 5/);
  });

  it("ranks a candidate whose grade could not be read after every graded one, though its score is the scale's middle", async () => {
    const judge = scriptedJudge(() => "tie", 0, (c) => [2, 1, 3][c.index]!);
    const unreadable = { ...judge, score: async (input: Parameters<typeof judge.score>[0]) => (input.candidate.index === 2 ? { score: 3, normalised: 0.5, justification: "unparseable judge answer", parsed: false } : judge.score(input)) };
    const selection = await rubric.select(arrive([0, 1, 2].map((i) => candidate(i))), rubricOptions, ctxWith(unreadable));
    expect(selection.winner).toBe(0);
    expect(selection.ranking).toEqual([0, 1, 2]);
    expect(selection.scores![2]).toBe(0.5);
    // Graded 3 of 5 like the unreadable one's stand-in: not a tie, the other grade was never given.
    const even = { ...judge, score: async (input: Parameters<typeof judge.score>[0]) => (input.candidate.index === 1 ? { score: 3, normalised: 0.5, justification: "unparseable judge answer", parsed: false } : { score: 3, normalised: 0.5, justification: "fair", parsed: true }) };
    const alone = await rubric.select(arrive([0, 1].map((i) => candidate(i))), rubricOptions, ctxWith(even));
    expect(alone.winner).toBe(0);
    expect(alone.rationale).toBe("Scored 3/5: fair");
    // No grade read at all: the rationale says the tie-break chose, not a score the judge never gave.
    const none = { ...judge, score: async () => ({ score: 3, normalised: 0.5, justification: "unparseable judge answer: meh", parsed: false }) };
    const unread = await rubric.select(arrive([0, 1].map((i) => candidate(i))), rubricOptions, ctxWith(none));
    expect(unread.rationale).toMatch(/^No candidate's grade could be read from the judge; chosen by the tie-break rule/);
    expect(unread.rationale).not.toMatch(/Scored/);
  });

  it("breaks equal scores by the shorter answer and says so", async () => {
    const judge = scriptedJudge(() => "tie", 0, () => 4);
    const selection = await rubric.select(arrive([candidate(0, "long answer"), candidate(1, "short")]), rubricOptions, ctxWith(judge));
    expect(selection.winner).toBe(1);
    expect(selection.rationale).toMatch(/tied; chosen by the tie-break rule/);
  });
});

describe("finalAnswer", () => {
  it.each([
    ["The total is 1,250 apples.", "auto", "1250"],
    ["Reasoning...\nFinal answer: Paris.", "auto", "paris"],
    ["x = 3\nso the answer: 42", "auto", "42"],
    ["first line\n  Blue  ", "last_line", "blue"],
    ["  Hello World. ", "text", "hello world"],
    ["It is 4.50", "number", "4.5"],
    // A JSON answer votes with its answer field; a marked answer with the number it starts with; a longer answer with
    // its last line, not with an incidental number elsewhere.
    ['{"answer":"Paris","confidence":0.9}', "auto", "paris"],
    ['{"answer": 7, "steps": 12}', "auto", "7"],
    ["Final answer: 12 (3 bags of 4)", "auto", "12"],
    ["Thinking about it, the answer is Paris.", "auto", "paris"],
    ["As of 2024 the records were updated.\nParis", "auto", "paris"],
    ["The answer depends on the year.\nParis", "auto", "paris"],
    // A fraction, time or date is one answer, not its first number; marks around an answer are not part of it.
    ["Work...\nFinal answer: 1/3", "auto", "1/3"],
    ["It is 3/2.", "auto", "1.5"],
    ["The meeting moved.\n2024-07-15", "auto", "2024-07-15"],
    ["Leave at 3:45 pm", "number", "3:45"],
    ["Final answer: 12.0", "auto", "12"],
    ["Step..\n**Final answer:** 12", "auto", "12"],
    ["Step.\nFinal answer: **12**", "auto", "12"],
    ["Solving.\nFinal answer: x = 5", "auto", "5"],
    // A worked sum votes with its result, not its first operand.
    ["Work.\nFinal answer: 4 × 3 = 12", "auto", "12"],
    ["The answer is 2 + 2 = 4", "auto", "4"],
    ["Bags of four.\n3 × 4 = 12 apples", "auto", "12"],
    ["Final answer: 1,200 + 300 = 1,500", "auto", "1500"],
    ["Final answer: 10 - 4 = 6", "auto", "6"],
    ["Final answer: 5 × 4 = 20 (check: 20 ÷ 4 = 5)", "auto", "20"],
    ["Final answer: 2 x 10 = 20 apples, for x = 2", "auto", "20"],
    ["Final answer: 1/2 + 1/4 = 3/4", "auto", "0.75"],
    ["Final answer: 3 x-rays = 1 visit", "auto", "3"],
    ["Solving.\nThe answer is \\boxed{42}.", "auto", "42"],
    // A LaTeX fraction is one number, boxed or not: 1/3 and 2/3 are not both "3".
    ["The result is \\boxed{\\frac{1}{3}}", "auto", "1/3"],
    ["The result is \\boxed{\\frac{2}{3}}", "auto", "2/3"],
    ["Work.\nFinal answer: \\boxed{-\\dfrac{4}{3}}", "auto", "-4/3"],
    ["So x = \\tfrac{1}{2}", "number", "0.5"],
    ["So:\n`Paris`", "auto", "paris"],
    ["Name the product.\nAnswer: a*b", "auto", "a*b"],
    // One value however it is written: 1/2, 2/4, 0.5 and .5; 2/6 and 1/3; a typeset minus; math delimiters; a choice's
    // letter in brackets; the last of two marks on a line.
    ["Answer: 2/4", "auto", "0.5"],
    ["Answer: .5", "auto", "0.5"],
    ["Answer: 2/6", "auto", "1/3"],
    ["It is \u22125.", "auto", "-5"],
    ["The final answer is \\(12\\)", "auto", "12"],
    ["Final Answer: The final answer is $12$. I hope it is correct.", "auto", "12"],
    ["Final answer: 12. I'm confident this answer is right.", "auto", "12"],
    ["Answer: 7 (see the answer-sheet)", "auto", "7"],
    ["The answer is (B)", "auto", "b"],
    ["The answer is **B**.", "auto", "b"],
  ])("reads %j (%s) as %j", (text, mode, expected) => {
    expect(finalAnswer(text, mode as "auto")).toBe(expected);
  });
});

describe("consistency", () => {
  const options = { strategy: "consistency" as const, answer: "auto" as const, tie_break: "judge" as const };

  it("returns the majority answer with no judge call", async () => {
    const judge = scriptedJudge(() => "A");
    const pool = [candidate(0, "It is 7."), candidate(1, "Answer: 8"), candidate(2, "I think 7"), candidate(3, "7 for sure")];
    const selection = await consistency.select(arrive(pool), options, ctxWith(judge));
    expect(judge.calls).toHaveLength(0);
    expect([0, 2, 3]).toContain(selection.winner);
    expect(selection.winner).toBe(0); // the most concise wording of the winning answer
    expect(selection.rationale).toBe("3 of 4 candidates agree on this answer.");
    expect(selection.ranking.at(-1)).toBe(1);
  });

  it("votes on tool calls as whole calls, whatever the spacing and key order of their arguments", async () => {
    const call = (index: number, args: string) => {
      const message = { role: "assistant", content: null, tool_calls: [{ id: `c${index}`, type: "function", function: { name: "get_weather", arguments: args } }] };
      return { ...candidate(index), text: messageText(message), message };
    };
    const judge = scriptedJudge(() => "A");
    const pool = [call(0, '{"city":"Rome","days":3}'), call(1, '{"city":"Paris","days":3}'), call(2, '{"days": 3, "city": "Paris"}'), call(3, '{ "city" : "Paris", "days" : 3 }')];
    const selection = await consistency.select(arrive(pool), options, ctxWith(judge));
    expect(judge.calls).toHaveLength(0);
    expect(selection.rationale).toBe("3 of 4 candidates agree on this answer.");
    expect(selection.winner).not.toBe(0);
    expect(selection.ranking.at(-1)).toBe(0);
  });

  it("votes on the calls alone: text beside a call does not split its vote", async () => {
    const call = (index: number, city: string, content: string | null) => {
      const message = { role: "assistant", content, tool_calls: [{ id: `c${index}`, type: "function", function: { name: "get_weather", arguments: `{"city":"${city}"}` } }] };
      return { ...candidate(index), text: messageText(message), message };
    };
    const pool = [call(0, "Rome", "Let me check."), call(1, "Rome", "One moment."), call(2, "Rome", null), call(3, "Paris", null), call(4, "Paris", null)];
    const selection = await consistency.select(arrive(pool), options, ctxWith(scriptedJudge(() => "A")));
    expect(selection.rationale).toBe("3 of 5 candidates agree on this answer.");
    expect([0, 1, 2]).toContain(selection.winner);
  });

  it("keeps different fractions apart and one answer in different marks together", async () => {
    const fractions = ["1/3", "1/2", "2/3", "2/3", "1/4"].map((answer, i) => candidate(i, `Work${".".repeat(i)}\nFinal answer: ${answer}`));
    const byFraction = await consistency.select(arrive(fractions), { ...options, tie_break: "rule" }, ctxWith(scriptedJudge(() => "A")));
    expect([2, 3]).toContain(byFraction.winner);
    expect(byFraction.rationale).toBe("2 of 5 candidates agree on this answer.");
    const marked = ["Final answer: 12", "**Final answer:** 12", "Final answer: **12**", "Final answer: 7", "Final answer: 7"];
    const pool = marked.map((text, i) => candidate(i, `Step${".".repeat(i)}\n${text}`));
    const byMarks = await consistency.select(arrive(pool), { ...options, tie_break: "rule" }, ctxWith(scriptedJudge(() => "A")));
    expect([0, 1, 2]).toContain(byMarks.winner);
    expect(byMarks.rationale).toBe("3 of 5 candidates agree on this answer.");
  });

  it("counts merged duplicates as votes", async () => {
    const twin = { ...candidate(0, "answer: 5"), duplicates: [2, 3] };
    const selection = await consistency.select(arrive([twin, candidate(1, "answer: 6"), candidate(4, "it is 6")]), options, ctxWith(scriptedJudge(() => "A")));
    expect(selection.winner).toBe(0);
  });

  it("sends a tie between answers to the judge", async () => {
    const judge = scriptedJudge(byQuality([0, 0, 9, 0]), 1);
    const pool = [candidate(0, "5"), candidate(1, "it is 5"), candidate(2, "6"), candidate(3, "six: 6")];
    const selection = await consistency.select(arrive(pool), options, ctxWith(judge));
    expect(judge.calls).toHaveLength(2);
    expect(selection.winner).toBe(2);
    expect(selection.rationale).toMatch(/2 answers tied with 2 votes each; the judge chose/);
  });

  it("ranks answer by answer after a tie: the winner's group, then the runner-up the judge chose, then the rest", async () => {
    // 12, 13 and 14 have two votes each; the judge prefers 14, then 13.
    const quality: Record<string, number> = { "12": 1, "13": 5, "14": 9 };
    const judge = scriptedJudge((a, b) => (quality[a.text.match(/1\d/)![0]]! >= quality[b.text.match(/1\d/)![0]]! ? "A" : "B"));
    const pool = ["Answer: 12 first", "Answer: 13 first", "Answer: 14 first", "Answer: 12", "Answer: 13 more", "Answer: 14 more"].map((text, i) => candidate(i, text));
    const selection = await consistency.select(arrive(pool), options, ctxWith(judge));
    expect(pool[selection.winner]!.text).toMatch(/14/);
    const answers = selection.ranking.map((i) => pool[i]!.text.match(/1\d/)![0]);
    expect(answers).toEqual(["14", "14", "13", "13", "12", "12"]);
    // By rule: the shorter wording wins, and the other tied answer comes next.
    const byRule = ["Answer: 12 long long", "Answer: 13", "Answer: 12 long long too", "Answer: 13 two"].map((text, i) => candidate(i, text));
    const ruled = await consistency.select(arrive(byRule), { ...options, tie_break: "rule" }, ctxWith(judge));
    expect(ruled.ranking).toEqual([1, 3, 0, 2]);
  });

  it("breaks a tie by rule when asked to", async () => {
    const judge = scriptedJudge(() => "A");
    const pool = [candidate(0, "it is 5"), candidate(1, "6")];
    const selection = await consistency.select(arrive(pool), { ...options, tie_break: "rule" }, ctxWith(judge));
    expect(judge.calls).toHaveLength(0);
    expect(selection.winner).toBe(1);
  });
});
