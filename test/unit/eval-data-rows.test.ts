// Odd rows in evaluation data files: blank lines, null and non-object rows, and error messages that name the file's line.
import { describe, expect, it } from "vitest";
import { loadItems } from "../../src/eval/data";

const pair = (input: string) => JSON.stringify({ input, output_1: "a", output_2: "b", label: 1 });
const valid = { pairwise: pair("one"), grounding: JSON.stringify({ passage: "p", question: "q", answer: "a", label: "PASS" }) };

describe("loadItems on odd rows", () => {
  it("skips blank and whitespace-only lines", () => {
    const text = [pair("one"), "", "   ", "\t", pair("two"), "  \r", ""].join("\n");
    expect(loadItems("pairwise", text, "p.jsonl").map((i) => ("instruction" in i ? i.instruction : ""))).toEqual(["one", "two"]);
  });

  it("names the file's own line number for a line that is not JSON, blank lines counted", () => {
    const text = [pair("one"), "", "", pair("two"), "{oops"].join("\n");
    expect(() => loadItems("pairwise", text, "p.jsonl")).toThrow(/p\.jsonl: line 5 is not JSON/);
  });

  it("rejects a null or non-object row with a message naming its line, not a TypeError", () => {
    for (const odd of ["null", "42", '"text"', "[1, 2]"]) {
      for (const task of ["grounding", "pairwise"] as const) {
        expect(() => loadItems(task, [valid[task], "", odd].join("\n"), "d.jsonl")).toThrow(/^d\.jsonl: line 3 is not an object/);
      }
    }
  });

  it("rejects a null element of a JSON array naming its row", () => {
    const text = `[${pair("one")}, null]`;
    expect(() => loadItems("pairwise", text, "d.json")).toThrow(/^d\.json: row 2 is not an object/);
  });

  it("names the file's row and line when a row lacks a field, blank lines counted", () => {
    const text = ["", pair("one"), "", JSON.stringify({ input: "i", output_1: "a", label: 1 })].join("\n");
    expect(() => loadItems("pairwise", text, "d.jsonl")).toThrow(/d\.jsonl row 2: field output_2 is missing or not text \(line 4\)/);
  });

  it("gives a sampled row the id of its place in the file, whatever the seed", () => {
    const text = Array.from({ length: 20 }, (_, i) => pair(`row ${i}`)).join("\n");
    for (const seed of [1, 2, 3]) {
      for (const item of loadItems("pairwise", text, "p.jsonl", 5, seed)) {
        expect("instruction" in item && item.instruction).toBe(`row ${item.id}`);
      }
    }
  });
});
