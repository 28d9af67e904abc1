// The guard's refusal prefilter: only answers that do nothing but decline are failed without a judge call.
import { describe, expect, it } from "vitest";
import { isRefusal } from "../../strategies/refusal";

describe("isRefusal", () => {
  it.each([
    "I'm sorry, I cannot help with that.",
    "I'm sorry, but I can't help with that request.",
    "I don't know.",
    "Unfortunately, I don't have information about that in the documents.",
    "Sorry, I don't know. The documents do not mention it.",
    "I'm sorry, but the document does not say.",
    "I am unable to answer from the documents provided.",
    "I don't know, so I cannot answer.",
  ])("takes %j for a refusal", (text) => {
    expect(isRefusal(text)).toBe(true);
  });

  it.each([
    "Sorry, Paris is sunny.",
    "I cannot say for certain, but Paris is sunny.",
    "I can't find the date, but the magazine was started in 1844.",
    "Unfortunately, the magazine closed in 1846.",
    "Paris is sunny. I cannot say more.",
    `I cannot be sure. ${"The document describes the magazine's history in detail. ".repeat(6)}`,
    "I can't find a later date in the documents, so Arthur's Magazine (1844) was first.",
    "Sorry, no information on a later founding is given, so Arthur's Magazine, from 1844, is the earlier one.",
    "I cannot see another date, therefore the magazine of 1844 came first.",
  ])("checks %j like any other answer", (text) => {
    expect(isRefusal(text)).toBe(false);
  });
});
