// Cache keys are the same whichever SHA-256 computes them (Node's hash here, Web Crypto on Workers) and ignore key order.
import { describe, expect, it } from "vitest";
import { cacheKey, canonicalJson, hashKey, keyTemplate } from "../../src/cache/key";

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
        expect(await hashKey(text(value))).toBe(await cacheKey({ ...fixed, [slot]: value }));
      }
    }
  });
});
