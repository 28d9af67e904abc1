// Cache keys are the same whichever SHA-256 computes them (Node's hash here, Web Crypto on Workers) and ignore key order.
import { describe, expect, it } from "vitest";
import { cacheKey, canonicalJson, keyTemplate, sha256Hex } from "../../src/cache/key";
import type { JudgeBackend } from "../../src/judge/backend";
import { createJudgeBackend, createJudgeUpstream } from "../../src/judge/create";
import { createJudgeSession } from "../../src/judge/session";
import { ZERO_USAGE } from "../../src/openai/chat";
import { testConfig } from "../helpers";

async function webCryptoHex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

describe("cacheKey", () => {
  it("is the Web Crypto SHA-256 of the canonical JSON, equal for equal objects in any key order", async () => {
    const parts = { model: "judge", inputs: { b: "ünïcode ✓", a: [1, null, { y: 2, x: 1 }] }, skipped: undefined };
    const key = await cacheKey(parts);
    expect(key).toBe(await webCryptoHex(canonicalJson(parts)));
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    // The text itself, pinned: keys already in a shared cache (Redis, KV) stay valid only while it never changes.
    expect(canonicalJson(parts)).toBe('{"inputs":{"a":[1,null,{"x":1,"y":2}],"b":"ünïcode ✓"},"model":"judge"}');
    expect(canonicalJson([undefined, () => 1, "", [], {}, { z: [{}], "": 0, é: "\u2028", e: -0.5e-7 }])).toBe(
      '[null,null,"",[],{},{"":0,"e":-5e-8,"z":[{}],"é":"\u2028"}]',
    );
    expect(await cacheKey({ inputs: { a: [1, null, { x: 1, y: 2 }], b: "ünïcode ✓" }, model: "judge" })).toBe(key);
    expect(await cacheKey({ ...parts, model: "other" })).not.toBe(key);
  });
});

describe("keyTemplate", () => {
  it("gives the canonical JSON of the whole object, wherever the slot sorts among the fixed keys", async () => {
    const fixed = { model: "judge", backend: "openai-compatible", temperature: 0, template: { id: "pairwise", version: 3 }, none: undefined };
    const values = [["conversation", "a", "b", 0], { z: 1, a: "ünïcode \" ✓" }, null, "text", 7];
    for (const slot of ["aaa", "inputs", "zzz"]) {
      const text = keyTemplate(fixed, slot);
      for (const value of values) {
        expect(text(value)).toBe(canonicalJson({ ...fixed, [slot]: value }));
        expect(await sha256Hex(text(value))).toBe(await cacheKey({ ...fixed, [slot]: value }));
      }
    }
  });
});

describe("judgment cache keys", () => {
  it("are the hash of backend identity, template and the hashes of the inputs, as canonicalJson of the whole gives it", async () => {
    const template = { id: "pairwise", version: 7 };
    const backend = {
      identity: { backend: "test", model: "judge-1", temperature: 0 },
      model: "judge-1",
      templates: { pairwise: template, rubric: { id: "rubric", version: 1 }, grounding: { id: "grounding", version: 1 } },
      comparePair: async () => ({ value: { winner: "A", reasoning: "r", parsed: true }, usage: ZERO_USAGE, calls: 1 }),
    } as unknown as JudgeBackend;
    const keys: string[] = [];
    const cache = { get: async (key: string) => void keys.push(key), set: async () => undefined };
    const conversation = [{ role: "user" as const, content: "Which is better?" }];
    const candidate = (index: number, text: string) => ({ index, text, message: { role: "assistant", content: text }, finish_reason: "stop", duplicates: [] });
    for (let round = 0; round < 2; round++) {
      // A new session per round, as per request: the second reuses what the first serialised.
      const { judge } = createJudgeSession(backend, cache);
      await judge.compare({ conversation, a: candidate(0, "first"), b: candidate(1, `second ${round}`) });
    }
    // Each input by the hash of its canonical JSON (a request hashes each once); the attempt number stands for itself.
    const inputs = async (round: number) => [await sha256Hex(canonicalJson(conversation)), await sha256Hex('"first"'), await sha256Hex(`"second ${round}"`), 0];
    const expected = async (round: number) => cacheKey({ ...backend.identity, template, inputs: await inputs(round) });
    expect(keys).toEqual([await expected(0), await expected(1)]);
  });

  it("name a rubric grade and a groundedness check by their inputs' hashes, numbers as they are", async () => {
    const templates = { pairwise: { id: "pairwise", version: 1 }, rubric: { id: "rubric", version: 3 }, grounding: { id: "grounding", version: 4 } };
    const identity = { backend: "test", model: "judge-1", temperature: 0 };
    const backend = {
      identity,
      model: "judge-1",
      templates,
      scoreRubric: async () => ({ value: { score: 4, normalised: 0.75, justification: "j", parsed: true }, usage: ZERO_USAGE, calls: 1 }),
      checkGrounding: async () => ({ value: { verdict: "PASS", reasoning: "r", parsed: true }, usage: ZERO_USAGE, calls: 1 }),
    } as unknown as JudgeBackend;
    const keys: string[] = [];
    const cache = { get: async (key: string) => void keys.push(key), set: async () => undefined };
    const conversation = [{ role: "user" as const, content: "Grade this." }];
    const candidate = { index: 2, text: "an answer", message: { role: "assistant", content: "an answer" }, finish_reason: "stop", duplicates: [] };
    const documents = ["first document", "second document"];
    const { judge } = createJudgeSession(backend, cache);
    await judge.score({ conversation, candidate, rubric: "Is it correct?", scale: 5 });
    await judge.checkGrounding({ question: "What is it?", documents, answer: "an answer", index: 2 });
    const hash = (value: unknown) => sha256Hex(canonicalJson(value));
    expect(keys).toEqual([
      await cacheKey({ ...identity, template: templates.rubric, inputs: [await hash(conversation), await hash("Is it correct?"), 5, await hash("an answer")] }),
      await cacheKey({ ...identity, template: templates.grounding, inputs: [await hash("What is it?"), await hash(documents), await hash("an answer")] }),
    ]);
  });
});

describe("an OpenAI-compatible judge's identity in its cache keys", () => {
  const identity = (judge: Record<string, unknown>) => {
    const config = testConfig({ judge });
    return canonicalJson(createJudgeBackend(config, createJudgeUpstream(config, fetch)).identity);
  };

  it("names the server and whether it asks for structured output, so another judge never answers from this one's", () => {
    const base = { model: "root-judge", base_url: "http://judge-a.test/v1" };
    expect(identity(base)).toBe(identity({ ...base }));
    expect(identity({ ...base, base_url: "http://judge-b.test/v1" })).not.toBe(identity(base));
    expect(identity({ ...base, structured_output: false })).not.toBe(identity(base));
  });
});
