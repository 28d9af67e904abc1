// withFields: a copy with fields set over it, exactly as a spread gives it.
import { expect, it } from "vitest";
import { withFields } from "../../src/util/with-fields";

it("gives what a spread gives: the same fields, the same order, the base untouched", () => {
  const base = { model: "m", n: 4, stream: false, messages: [{ role: "user", content: "hi" }] };
  const copy = withFields(base, { n: 1, seed: 7 });
  expect(JSON.stringify(copy)).toBe(JSON.stringify({ ...base, n: 1, seed: 7 }));
  expect(base).toEqual({ model: "m", n: 4, stream: false, messages: [{ role: "user", content: "hi" }] });
  expect(copy.messages).toBe(base.messages); // shallow, as a spread is
});

it("keeps a client's own __proto__ field a field, never the copy's prototype", () => {
  // JSON.parse makes "__proto__" a field of the object's own; assigned rather than defined, it would become the copy's
  // prototype, so that the copy seemed to ask for a stream it never sends upstream.
  const request = JSON.parse('{"__proto__":{"stream":true},"model":"m"}') as Record<string, unknown>;
  const copy = withFields(request, { n: 2 }) as Record<string, unknown>;
  expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
  expect(copy.stream).toBeUndefined();
  expect(JSON.stringify(copy)).toBe('{"__proto__":{"stream":true},"model":"m","n":2}');

  const fields = JSON.parse('{"__proto__":{"stream":true}}') as object;
  const over = withFields({ model: "m" }, fields) as Record<string, unknown>;
  expect(Object.getPrototypeOf(over)).toBe(Object.prototype);
  expect(over.stream).toBeUndefined();
});
