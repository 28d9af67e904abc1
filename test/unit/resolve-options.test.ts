// Requests that set no option in their body share one resolution per model, n and x-verdict-* headers
// (src/options.ts): none of them may get another request's.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { ProxyError } from "../../src/errors";
import type { ChatRequest } from "../../src/openai/chat";
import { resolveOptions } from "../../src/options";

const config = loadConfig(
  {},
  JSON.stringify({
    generator: { base_url: "http://127.0.0.1:9/v1" },
    judge: { model: "judge-model" },
    defaults: { n: 4 },
    models: { "guarded": { model: "real-model", strategy: "guard" }, "best-of-2": { model: "real-model", n: 2 } },
  }),
);

const headersOf = (fields: Record<string, string>) => ({ get: (name: string) => fields[name] ?? null });
const ask = (model: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({ model, messages: [{ role: "user", content: "hi" }], ...extra });

function refusal(run: () => unknown): { status: number; param: string | null } {
  try {
    run();
  } catch (err) {
    if (err instanceof ProxyError) return { status: err.status, param: err.param };
    throw err;
  }
  throw new Error("not refused");
}

describe("resolveOptions for requests with no options in their body", () => {
  it("gives each model its own resolution", () => {
    expect(resolveOptions(ask("model-a"), headersOf({}), config).upstreamModel).toBe("model-a");
    expect(resolveOptions(ask("model-b"), headersOf({}), config).upstreamModel).toBe("model-b");
    expect(resolveOptions(ask("best-of-2"), headersOf({}), config)).toMatchObject({ upstreamModel: "real-model", n: 2 });
    expect(resolveOptions(ask("model-a"), headersOf({}), config)).toMatchObject({ upstreamModel: "model-a", n: 4 });
  });

  it("reads the headers and the request's own n of every request", () => {
    expect(resolveOptions(ask("m"), headersOf({ "x-verdict-n": "1" }), config)).toMatchObject({ n: 1, passThrough: true });
    expect(resolveOptions(ask("m"), headersOf({}), config)).toMatchObject({ n: 4, passThrough: false });
    expect(resolveOptions(ask("m"), headersOf({ "x-verdict-n": "3", "x-verdict-strategy": "rubric" }), config)).toMatchObject({ n: 3, strategy: { strategy: "rubric" } });
    expect(resolveOptions(ask("m"), headersOf({ "x-verdict-n": "3" }), config)).toMatchObject({ n: 3, strategy: { strategy: "pairwise" } });
    expect(resolveOptions(ask("m", { n: 6 }), headersOf({}), config)).toMatchObject({ n: 6, choices: 6 });
    expect(resolveOptions(ask("m", { n: null }), headersOf({}), config)).toMatchObject({ n: 4, choices: 1 });
  });

  it("refuses a bad header every time, after a request without it was resolved", () => {
    resolveOptions(ask("m"), headersOf({}), config);
    expect(refusal(() => resolveOptions(ask("m"), headersOf({ "x-verdict-n": "" }), config))).toEqual({ status: 400, param: "x-verdict-n" });
    expect(refusal(() => resolveOptions(ask("m"), headersOf({ "x-verdict-n": "" }), config))).toEqual({ status: 400, param: "x-verdict-n" });
    expect(refusal(() => resolveOptions(ask("m"), headersOf({ "x-verdict-n": "99" }), config)).param).toBe("x-verdict-n");
  });

  it("finds a guard's documents in each request's own messages", () => {
    const withDocuments = (text: string) => ask("guarded", { messages: [{ role: "system", content: `<documents>${text}</documents>` }, { role: "user", content: "q" }] });
    const first = resolveOptions(withDocuments("first document"), headersOf({}), config);
    const second = resolveOptions(withDocuments("second document"), headersOf({}), config);
    expect(first.strategy).toMatchObject({ strategy: "guard", context: ["first document"] });
    expect(second.strategy).toMatchObject({ strategy: "guard", context: ["second document"] });
  });

  it("resolves model names too long to keep on their own, however alike", () => {
    const [first, second] = ["a", "b"].map((last) => `${"m".repeat(5_000)}${last}`);
    expect(resolveOptions(ask(first!), headersOf({}), config).upstreamModel).toBe(first);
    expect(resolveOptions(ask(second!), headersOf({}), config).upstreamModel).toBe(second);
  });

  it("hands out a shared resolution no request can change for the next", () => {
    const options = resolveOptions(ask("shared-model"), headersOf({}), config);
    expect(() => Object.assign(options, { n: 16 })).toThrow(TypeError);
    expect(resolveOptions(ask("shared-model"), headersOf({}), config).n).toBe(4);
  });
});
