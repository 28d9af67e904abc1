// Text a client can steer (candidates follow its prompt; a judge's answer follows the candidates) is read in time that
// grows with its length: each pattern here was once retried from every character of a long run (of spaces, stops or
// marks), 1-8 s for 40,000 characters, with every other request waiting.
import { expect, it } from "vitest";
import { parseGrounding } from "../../src/judge/parse-grounding";
import { parsePairVerdict, parseScore } from "../../src/judge/parse";
import { finalAnswer } from "../../strategies/consistency";
import { isRefusal } from "../../strategies/refusal";
import { schemaMismatch } from "../../src/openai/json-schema";
import { neutraliseTags } from "../../src/judge/sections";

const RUN = 40_000;

it.each([
  ["a pairwise verdict label", () => parsePairVerdict(`verdict:${" ".repeat(RUN)}x`)],
  ["a score label", () => parseScore(`score:${" ".repeat(RUN)}x`, 5)],
  ["a grounding label", () => parseGrounding(`verdict:${" ".repeat(RUN)}x`)],
  ["claims marked in prose", () => parseGrounding(`${"claim ".repeat(RUN / 6)}x`)],
  ["claims said to lack support", () => parseGrounding(`${"claims is ".repeat(RUN / 10)}x`)],
  ["a grounding answer ending in a long run of spaces", () => parseGrounding(`PASS${" ".repeat(RUN)}x`)],
  ["a numbered claim before a long run of spaces", () => parseGrounding(`Claim 2${" ".repeat(RUN)}x`)],
  ["a verdict label before a long run of tabs", () => parseGrounding(`Verdict:${"\t".repeat(RUN)}1`)],
  ["a verdict label before a long run of blank lines", () => parseGrounding(`Verdict:${" \n".repeat(RUN / 2)}1`)],
  ["a long run of marks before a verdict", () => parseGrounding(`${"*".repeat(RUN)}PASS`)],
  ["a verdict before a long run of blank lines", () => parseGrounding(`Verdict: PASS.${" \n".repeat(RUN / 2)}x`)],
  ["claims asked about without an answer", () => parseGrounding(`${"claim supported ".repeat(RUN / 16)}?`)],
  ["an answer said to invent, many times over", () => parseGrounding(`${"answer also ".repeat(RUN / 12)}invents nothing`)],
  ["a claim said to lack support after a long run of spaces", () => parseGrounding(`claim lacks${" ".repeat(RUN)}x claim is${" ".repeat(RUN)}x`)],
  ["a yes-or-no line after a long run of spaces", () => parseGrounding(`${" ".repeat(RUN)}supported${" ".repeat(RUN)}:${" ".repeat(RUN)}x`)],
  ["doubts after a PASS denied many times over", () => parseGrounding(`Verdict: PASS ${"nothing ".repeat(RUN / 8)}fabricated ${"contradicts the ".repeat(RUN / 16)}x`)],
  ["a count after a PASS", () => parseGrounding(`Verdict: PASS; 1${" ".repeat(RUN)}x`)],
  ["a verdict field of marks", () => parseGrounding(`{"verdict": "${".".repeat(RUN)}x"}`)],
  // Every brace tried parses almost to the end: 120 KB of nesting took over a second before the search was bounded.
  ["JSON objects nested deep", () => parseGrounding(`${'{"v":'.repeat(RUN / 2)}"PASS"${"}".repeat(RUN / 2)}`)],
  ["judge prompt tags after a long gap", () => neutraliseTags(`<${" ".repeat(RUN)}x`)],
  ["judge prompt tags left unclosed", () => neutraliseTags("<response_a".repeat(RUN / 11))],
  ["consistency's marks around an answer", () => finalAnswer(`Work\nFinal answer: a${"*".repeat(RUN)}b`, "auto")],
  ["consistency's answer marks, many on a line", () => finalAnswer(`${"answer ".repeat(RUN / 7)}x`, "auto")],
  ["consistency's trailing stops", () => finalAnswer(`a${".".repeat(RUN)}x`, "text")],
  ["consistency's worked sum without its result", () => finalAnswer(`Final answer: ${"1 + ".repeat(RUN / 4)}1-2-3 x`, "auto")],
  ["consistency's joined numbers", () => finalAnswer(`Final answer: ${"1-".repeat(RUN / 2)}1 x`, "auto")],
  ["the refusal prefilter's clause breaks (spaces)", () => isRefusal(`I'm sorry${" ".repeat(RUN)}x`)],
  ["the refusal prefilter's clause breaks (stops)", () => isRefusal(`I'm sorry${".".repeat(RUN)}x`)],
])("reads %s in a long run in milliseconds", (_name, read) => {
  const started = performance.now();
  read();
  expect(performance.now() - started).toBeLessThan(250);
});

it("still reads what those patterns are for", () => {
  expect(parsePairVerdict("**Verdict**: **A**")?.winner).toBe("A");
  expect(parseScore("Score: **4**", 5)?.score).toBe(4);
  expect(finalAnswer("Step..\n**Final answer:** 12", "auto")).toBe("12");
  expect(finalAnswer("Hello World!!!", "text")).toBe("hello world");
  expect(isRefusal("I'm sorry, but I can't help with that.")).toBe(true);
  expect(isRefusal("I'm sorry... the magazine of 1844 came first.")).toBe(false);
});

it("checks an answer against a client's schema in bounded time, however large the enum or the schema", () => {
  const options = Array.from({ length: 300_000 }, (_, i) => `v${i}`);
  const answer = Array.from({ length: 100 }, (_, i) => `v${i * 7}`);
  let started = performance.now();
  expect(schemaMismatch(answer, { type: "array", items: { enum: options } })).toBeNull();
  expect(schemaMismatch([...answer, "nope"], { type: "array", items: { enum: options } })).toBe("$[100]: not one of the allowed values");
  expect(performance.now() - started).toBeLessThan(1_000);
  // Branches without end: the check gives up (finds nothing wrong) instead of trying each one for each item.
  const branches = { anyOf: Array.from({ length: 20_000 }, (_, i) => ({ const: `w${i}` })) };
  started = performance.now();
  expect(schemaMismatch(Array.from({ length: 5_000 }, () => "w19999"), { type: "array", items: branches })).toBeNull();
  expect(performance.now() - started).toBeLessThan(1_000);
});
