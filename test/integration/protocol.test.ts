// Protocol fidelity through the openai SDK: conversations, tool calls, response_format, n, logprobs, forwarded fields.
import { zodResponseFormat } from "openai/helpers/zod";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { SimRequestRecord } from "../sim/server";
import { createApp } from "../../src/app";
import { chatBody, fetchInto, harness, postChat, testConfig } from "../helpers";
import { createSimulator } from "../sim/server";

type Any = Record<string, any>;
const verdictOf = (completion: unknown) => (completion as { verdict: Any }).verdict;
/** Every choice the simulated generator sent, across all its calls. */
const generated = (requests: SimRequestRecord[]) =>
  requests.filter((r) => r.role === "generator").flatMap((r) => (r.response as Any).choices as Any[]);
const judgeTexts = (requests: SimRequestRecord[]) =>
  requests.filter((r) => r.role === "judge").map((r) => (r.body.messages as Any[]).at(-1)!.content as string);

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } }, required: ["city"] },
  },
};
const searchTool = { type: "function" as const, function: { name: "search", parameters: { type: "object", properties: { query: { type: "string" } } } } };

describe("protocol fidelity", () => {
  it("judges the whole conversation: the judge sees the earlier turns", async () => {
    const { client, sim } = harness();
    await client.chat.completions.create({
      model: "sim-generator",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "My cat is called Bartholomew." },
        { role: "assistant", content: "Noted: Bartholomew." },
        { role: "user", content: "What is my cat called?" },
      ],
      // @ts-expect-error verdict's own field
      verdict: { n: 2 },
    });
    const prompts = judgeTexts(sim.requests);
    expect(prompts.length).toBeGreaterThan(0);
    for (const prompt of prompts) {
      const conversation = prompt.slice(0, prompt.indexOf("</conversation>"));
      expect(conversation).toContain("You are terse.");
      expect(conversation).toContain("My cat is called Bartholomew.");
      expect(conversation).toContain("[assistant]\nNoted: Bartholomew.");
      expect(conversation).toContain("What is my cat called?");
    }
  });

  it("shows the judge earlier tool calls and their results, not only the text turns", async () => {
    const { client, sim } = harness();
    await client.chat.completions.create({
      model: "sim-generator",
      messages: [
        { role: "user", content: "Weather in Lima?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Lima"}' } }] },
        { role: "tool", tool_call_id: "call_1", content: "19 C, overcast" },
      ],
      tools: [weatherTool],
      // @ts-expect-error verdict's own field
      verdict: { n: 2 },
    });
    const prompts = judgeTexts(sim.requests);
    expect(prompts.length).toBeGreaterThan(0);
    for (const prompt of prompts) {
      expect(prompt).toContain('[assistant]\n[tool call] get_weather({"city":"Lima"})');
      expect(prompt).toContain("[tool]\n19 C, overcast");
    }
  });

  it("compares tool calls by name and arguments and returns the winner's tool_calls exactly as generated", async () => {
    const { client, sim } = harness();
    const completion = await client.chat.completions.create({
      ...chatBody(),
      tools: [weatherTool, searchTool],
      tool_choice: "required",
      // @ts-expect-error verdict's own field
      verdict: { n: 3 },
    });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    const winner = generated(sim.requests)[verdictOf(completion).winner]!;
    expect(choice.message).toEqual(winner.message);
    expect(choice.message.tool_calls![0]!.id).toMatch(/^call_sim_/);
    const prompts = judgeTexts(sim.requests);
    expect(prompts.length).toBeGreaterThan(0);
    expect(prompts.every((p) => /\[tool call\] (get_weather|search)\(\{.*\}\)/.test(p))).toBe(true);
  });

  it("streams a winning tool call as index/id/arguments deltas that the SDK reassembles exactly", async () => {
    const { client, sim } = harness();
    const stream = client.chat.completions.stream({ ...chatBody(), tools: [weatherTool], tool_choice: "required", n: 1, verdict: { n: 2 } } as never);
    const argumentDeltas: string[] = [];
    for await (const chunk of stream) {
      const call = chunk.choices[0]?.delta.tool_calls?.[0];
      if (call?.function?.arguments) argumentDeltas.push(call.function.arguments);
    }
    const final = await stream.finalChatCompletion();
    const winner = generated(sim.requests)[verdictOf(final).winner]!;
    expect(argumentDeltas.length).toBeGreaterThan(1);
    expect(final.choices[0]!.message.tool_calls).toEqual(winner.message.tool_calls);
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
  });

  it("with tool_choice auto judges only the majority kind; the others rank last as minority_kind", async () => {
    const { client } = harness({ sim: { seed: 3, generator: { tool_call_rate: 0.4 } } });
    const completion = await client.chat.completions.create({
      ...chatBody(),
      tools: [weatherTool],
      // @ts-expect-error verdict's own field
      verdict: { n: 5, return_candidates: true },
    });
    const verdict = verdictOf(completion);
    const kinds = (verdict.candidates as Any[]).map((c) => (c.message.tool_calls ? "call" : "text"));
    const calls = kinds.filter((k) => k === "call").length;
    expect(calls).toBeGreaterThan(0); // the seed gives a real split, or this test proves nothing
    expect(calls).toBeLessThan(5);
    const majority = calls * 2 >= 5 ? "call" : "text";
    expect(kinds[verdict.winner]).toBe(majority);
    const minority = kinds.flatMap((k, i) => (k === majority ? [] : [i]));
    for (const i of minority) expect(verdict.candidates[i].excluded).toBe("minority_kind");
    expect(verdict.ranking.slice(-minority.length).sort()).toEqual(minority);
  });

  it("ranks JSON that does not parse or fit the schema last, without showing it to the judge (chat.completions.parse)", async () => {
    const { client, sim } = harness({ sim: { seed: 5, generator: { invalid_json_rate: 0.5 } } });
    const Weather = z.object({ city: z.string(), temperature: z.number(), unit: z.enum(["c", "f"]) });
    const completion = await client.chat.completions.parse({
      ...chatBody(),
      response_format: zodResponseFormat(Weather, "weather"),
      // @ts-expect-error verdict's own field
      verdict: { n: 6, return_candidates: true },
    });
    const parsed = completion.choices[0]!.message.parsed!;
    expect(Weather.parse(parsed)).toEqual(parsed);
    const verdict = verdictOf(completion);
    const excluded = (verdict.candidates as Any[]).filter((c) => c.excluded);
    expect(new Set(excluded.map((c) => c.excluded))).toEqual(new Set(["invalid_json", "schema_mismatch"]));
    expect(verdict.ranking.slice(-excluded.length).sort()).toEqual(excluded.map((c) => c.index).sort());
    const judged = judgeTexts(sim.requests).join("\n");
    for (const bad of excluded) expect(judged).not.toContain(bad.message.content);
  });

  it("checks the parts of a schema its references name: a recursive zod schema parses, the answer that breaks it ranks last", async () => {
    // zodResponseFormat writes a recursive model as a definition and $refs to it, as Pydantic writes nested models.
    const Node: z.ZodType<{ label: string; children: unknown[] }> = z.object({ label: z.string(), get children() { return z.array(Node); } }) as never;
    const Tree = z.object({ root: Node });
    const valid = JSON.stringify({ root: { label: "a", children: [{ label: "b", children: [] }] } });
    const broken = JSON.stringify({ root: { label: "a", children: [{ label: 3, children: [] }] } });
    const { client } = harness({ sim: { generator: { answers: [broken, valid] } } });
    const completion = await client.chat.completions.parse({
      ...chatBody(),
      response_format: zodResponseFormat(Tree, "tree"),
      // @ts-expect-error verdict's own field
      verdict: { n: 4, return_candidates: true },
    });
    expect(completion.choices[0]!.message.parsed).toEqual(JSON.parse(valid));
    const candidates = verdictOf(completion).candidates as Any[];
    expect(candidates.map((c) => (c.message.content === broken ? c.excluded : "valid"))).toEqual(["schema_mismatch", "valid", "schema_mismatch", "valid"]);
  });

  it("judges an answer given as a refusal under structured output, instead of dropping it as empty or malformed JSON", async () => {
    const sim = createSimulator();
    const simFetch = fetchInto(sim.app);
    // The generator declines twice in its `refusal` field (content null) and answers once.
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const response = await simFetch(input, init);
      const body = await response.json();
      if (body.model === "sim-generator") {
        body.choices.forEach((choice: Any, i: number) => {
          if (i < 2) choice.message = { role: "assistant", content: null, refusal: `I can't help with that (${i}).` };
        });
      }
      return Response.json(body);
    };
    const app = createApp({ config: testConfig(), fetch });
    const schema = { name: "steps", strict: true, schema: { type: "object", properties: { steps: { type: "array", items: { type: "string" } } }, required: ["steps"], additionalProperties: false } };
    const response = await postChat(app, chatBody({ response_format: { type: "json_schema", json_schema: schema }, verdict: { n: 3, return_candidates: true } }));
    const { verdict } = await response.json();
    expect((verdict.candidates as Any[]).map((c) => c.excluded)).toEqual([undefined, undefined, undefined]);
    expect(verdict.judge.calls).toBeGreaterThan(0);
    const judged = judgeTexts(sim.requests).join("\n");
    expect(judged).toContain("I can't help with that (0).");
  });

  it("returns the top n candidates in rank order for a client n of 2", async () => {
    const { client } = harness();
    const completion = await client.chat.completions.create({ ...chatBody(), n: 2, verdict: { n: 4, return_candidates: true } } as never);
    const verdict = verdictOf(completion);
    expect(completion.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(completion.choices.map((c) => c.message.content)).toEqual(
      verdict.ranking.slice(0, 2).map((i: number) => verdict.candidates[i].message.content),
    );
  });

  it("gives a client asking for several choices only usable ones, fewer when fewer came (the SDK's parse() reads every choice)", async () => {
    const answers = ['{"answer": "blue", "score": 1}', "{not json", '{"answer": "sky", "score": 2}', ""];
    const { client } = harness({ sim: { generator: { answers } } });
    const schema = { type: "object", properties: { answer: { type: "string" }, score: { type: "number" } }, required: ["answer", "score"], additionalProperties: false };
    const request = { ...chatBody(), n: 3, response_format: { type: "json_schema", json_schema: { name: "ans", schema, strict: true } }, verdict: { n: 4 } };
    const parsed = await client.chat.completions.parse(request as never);
    expect(parsed.choices.map((c) => (c.message.parsed as { answer: string } | null)?.answer).sort()).toEqual(["blue", "sky"]);
    expect(verdictOf(parsed).degraded).toBeUndefined();
    expect(verdictOf(parsed).ranking).toHaveLength(4); // the record still lists every candidate
  });

  it("reads null for n, seed and stream as not set, as the SDKs send them", async () => {
    const { app } = harness();
    for (const extra of [{ verdict: { n: 2 } }, { verdict: { n: 1 } }]) {
      const response = await postChat(app, chatBody({ n: null, seed: null, stream: null, ...extra }));
      expect(response.status).toBe(200);
      expect((await response.json()).choices).toHaveLength(1);
    }
    const viaResponses = await app.request("/v1/responses", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "sim-generator", input: "hi", stream: null, verdict: { n: 2 } }),
    });
    expect(viaResponses.status).toBe(200);
  });

  it("returns as many choices as the client's n asks when candidates repeat each other, alternatives before repeats", async () => {
    const { client, sim } = harness({ sim: { generator: { answers: ["Same answer.", "Same answer.", "Other answer.", "Same answer."] } } });
    const completion = await client.chat.completions.create({ ...chatBody(), n: 3, verdict: { n: 4 } } as never);
    const verdict = verdictOf(completion);
    expect(sim.count("judge")).toBeGreaterThan(0);
    expect(verdict.ranking).toHaveLength(4);
    expect(completion.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    // Both distinct answers first (in the judge's order), then a repeat: three real draws.
    const texts = completion.choices.map((c) => c.message.content);
    expect(new Set(texts.slice(0, 2))).toEqual(new Set(["Same answer.", "Other answer."]));
    expect(texts[2]).toBe("Same answer.");
  });

  it("forwards logprobs, seed, user, metadata and unknown fields, and returns the winner's logprobs", async () => {
    const { client, sim } = harness();
    const extra = { logprobs: true, top_logprobs: 2, seed: 11, user: "u-7", metadata: { run: "x" }, vendor_flag: { deep: [1] } };
    const completion = await client.chat.completions.create({ ...chatBody(), ...extra, verdict: { n: 3 } } as never);
    const sent = sim.requests.find((r) => r.role === "generator")!.body;
    expect(sent).toMatchObject(extra);
    const winner = generated(sim.requests)[verdictOf(completion).winner]!;
    expect(completion.choices[0]!.logprobs).toEqual(winner.logprobs);
    expect(completion.choices[0]!.logprobs!.content!.length).toBeGreaterThan(3);

    const stream = await client.chat.completions.create({ ...chatBody(), ...extra, stream: true, verdict: { n: 3 } } as never);
    const tokens: string[] = [];
    let content = "";
    for await (const chunk of stream as unknown as AsyncIterable<Any>) {
      content += chunk.choices[0]?.delta.content ?? "";
      tokens.push(...(chunk.choices[0]?.logprobs?.content ?? []).map((t: Any) => t.token));
    }
    expect(tokens.join("")).toBe(content);
  });
});
