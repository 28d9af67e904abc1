// Unchanged third-party clients through verdict: the Vercel AI SDK (chat and Responses providers) and LangChain.
// Each gets the candidate a perfect simulated judge prefers, so each test also proves the request was reranked.
import { createOpenAI } from "@ai-sdk/openai";
import { ChatOpenAI } from "@langchain/openai";
import { generateText, streamText } from "ai";
import { describe, expect, it } from "vitest";
import { qualityOf } from "../sim/random";
import type { Simulator } from "../sim/server";
import { fetchInto, harness, VERDICT_URL } from "../helpers";

type Any = Record<string, any>;

/** The best of every candidate the simulated generator wrote for this test (chat or Responses sampling). */
function bestCandidate(sim: Simulator): string {
  const texts = sim.requests
    .filter((r) => r.role === "generator")
    .flatMap((r) => ((r.response as Any).choices as Any[]).map((c) => c.message.content as string));
  expect(texts.length).toBe(3);
  return texts.reduce((a, b) => (qualityOf(a) >= qualityOf(b) ? a : b));
}

function setup() {
  const h = harness({ config: { defaults: { n: 3 } } });
  const provider = createOpenAI({ baseURL: VERDICT_URL, apiKey: "client-key", fetch: fetchInto(h.app) });
  return { ...h, provider };
}

const prompt = "Why is the sky blue?";

describe("Vercel AI SDK (ai 6, @ai-sdk/openai 3)", () => {
  it("generateText with provider.chat(model)", async () => {
    const { sim, provider } = setup();
    const result = await generateText({ model: provider.chat("sim-generator"), prompt });
    expect(result.text).toBe(bestCandidate(sim));
    expect(sim.count("judge")).toBeGreaterThan(0);
    expect((result.response.body as Any).verdict.n_candidates).toBe(3);
    expect(result.finishReason).toBe("stop");
  });

  it("streamText with provider.chat(model)", async () => {
    const { sim, provider } = setup();
    const result = streamText({ model: provider.chat("sim-generator"), prompt });
    let text = "";
    for await (const piece of result.textStream) text += piece;
    expect(text).toBe(bestCandidate(sim));
    expect(await result.finishReason).toBe("stop");
    expect((await result.usage).totalTokens).toBeGreaterThan(0);
  });

  it("generateText with the default provider (Responses API)", async () => {
    const { sim, provider } = setup();
    const result = await generateText({ model: provider("sim-generator"), prompt, system: "Be brief." });
    expect(result.text).toBe(bestCandidate(sim));
    expect(sim.requests.find((r) => r.role === "generator")!.body.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: prompt },
    ]);
    expect((result.response.body as Any).verdict.n_candidates).toBe(3);
  });

  it("streamText with the default provider (Responses API)", async () => {
    const { sim, provider } = setup();
    const result = streamText({ model: provider("sim-generator"), prompt });
    let text = "";
    for await (const piece of result.textStream) text += piece;
    expect(text).toBe(bestCandidate(sim));
    expect(await result.finishReason).toBe("stop");
    expect((await result.usage).outputTokens).toBeGreaterThan(0);
  });
});

describe("LangChain (@langchain/openai 1.5)", () => {
  const model = (app: ReturnType<typeof setup>["app"]) =>
    new ChatOpenAI({ model: "sim-generator", apiKey: "client-key", maxRetries: 0, configuration: { baseURL: VERDICT_URL, fetch: fetchInto(app) } });

  it("invoke", async () => {
    const { sim, app } = setup();
    const message = await model(app).invoke(prompt);
    expect(message.content).toBe(bestCandidate(sim));
  });

  it("stream", async () => {
    const { sim, app } = setup();
    let text = "";
    let chunks = 0;
    for await (const chunk of await model(app).stream(prompt)) {
      text += typeof chunk.content === "string" ? chunk.content : "";
      chunks += 1;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(text).toBe(bestCandidate(sim));
  });
});
