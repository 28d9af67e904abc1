// Evaluation data formats: HaluEval QA, HaluBench and LLMBar rows, and seeded row sampling.
import { describe, expect, it } from "vitest";
import { loadItems } from "../../src/eval/data";

describe("loadItems", () => {
  it("reads HaluBench rows (passage, question, answer, label) one item each", () => {
    const text = [
      JSON.stringify({ id: "hb-1", passage: "Paris is in France.", question: "Where is Paris?", answer: "France", label: "PASS" }),
      JSON.stringify({ passage: "p", question: "q", answer: "a", label: "fail" }),
    ].join("\n");
    expect(loadItems("grounding", text, "halubench.jsonl")).toEqual([
      { id: "hb-1", question: "Where is Paris?", documents: ["Paris is in France."], answer: "France", label: "PASS" },
      { id: "1", question: "q", documents: ["p"], answer: "a", label: "FAIL" },
    ]);
  });

  it("turns each HaluEval row into a grounded and a hallucinated item", () => {
    const row = { knowledge: "k", question: "q", right_answer: "r", hallucinated_answer: "h" };
    const items = loadItems("grounding", JSON.stringify(row), "halueval.jsonl");
    expect(items.map((i) => [i.id, "answer" in i && i.answer, "label" in i && i.label])).toEqual([
      ["0:right", "r", "PASS"],
      ["0:hallucinated", "h", "FAIL"],
    ]);
  });

  it("names the row and field that are wrong", () => {
    expect(() => loadItems("pairwise", JSON.stringify([{ input: "i", output_1: "a", output_2: "b", label: 3 }]), "x.json")).toThrow(/x\.json row 1: label must be 1 or 2/);
    expect(() => loadItems("grounding", '{"passage": "p"}', "y.jsonl")).toThrow(/y\.jsonl row 1: field label is missing/);
    expect(() => loadItems("grounding", "{oops", "z.jsonl")).toThrow(/z\.jsonl: line 1 is not JSON/);
    expect(() => loadItems("pairwise", JSON.stringify([{ input: "i", output_1: "a", output_2: "b", label: true }]), "t.json")).toThrow(/label must be 1 or 2/);
  });

  it("says which --task a file is for when it is run with the other one", () => {
    const pairs = JSON.stringify([{ input: "i", output_1: "a", output_2: "b", label: 1 }]);
    expect(() => loadItems("grounding", pairs, "natural.json")).toThrow(/natural\.json holds pairwise rows .* run it with --task pairwise/);
    const haluEval = JSON.stringify({ knowledge: "k", question: "q", right_answer: "r", hallucinated_answer: "h" });
    expect(() => loadItems("pairwise", haluEval, "qa.jsonl")).toThrow(/qa\.jsonl holds grounding rows .* run it with --task grounding/);
    const haluBench = JSON.stringify({ passage: "p", question: "q", answer: "a", label: "PASS" });
    expect(() => loadItems("pairwise", haluBench, "hb.jsonl")).toThrow(/run it with --task grounding/);
  });

  it("reads a file that starts with a byte-order mark, and labels given as text", () => {
    const row = { passage: "p", question: "q", answer: "a", label: "PASS" };
    expect(loadItems("grounding", `\uFEFF${JSON.stringify(row)}\n`, "bom.jsonl")).toHaveLength(1);
    expect(loadItems("pairwise", JSON.stringify([{ input: "i", output_1: "a", output_2: "b", label: "2" }]), "s.json")).toMatchObject([{ label: 2 }]);
  });

  it("samples the same rows for the same seed and limit", () => {
    const rows = JSON.stringify(Array.from({ length: 30 }, (_, i) => ({ input: `i${i}`, output_1: "a", output_2: "b", label: 1 })));
    const pick = (seed: number) => loadItems("pairwise", rows, "r.json", 5, seed).map((i) => ("instruction" in i ? i.instruction : ""));
    expect(pick(3)).toEqual(pick(3));
    expect(pick(3)).not.toEqual(pick(4));
    expect(loadItems("pairwise", rows, "r.json", 5)).toHaveLength(5);
  });
});
