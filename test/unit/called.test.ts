import { describe, expect, it } from "vitest";
import { called } from "../../src/util/called";

describe("called", () => {
  it("gives the call's own promise", async () => {
    const promise = Promise.resolve(42);
    expect(called(() => promise, undefined)).toBe(promise);
    expect(await called((n: number) => Promise.resolve(n + 1), 1)).toBe(2);
  });

  it("turns a synchronous throw into a rejection, as an async function would", async () => {
    const broken = new TypeError("Invalid URL");
    const call = () =>
      called((url: string) => {
        if (!url.startsWith("http")) throw broken;
        return Promise.resolve(url);
      }, "not a url");
    let promise: Promise<string> | undefined;
    expect(() => (promise = call())).not.toThrow();
    await expect(promise).rejects.toBe(broken);
  });
});
