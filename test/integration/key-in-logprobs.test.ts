// A configured key that a candidate spells token by token: its text is scrubbed, and its logprobs, which would still
// spell the key out, are not handed to the client.
import { describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/openai/sse";
import { bodyText, chatBody, fetchInto, harness, postChat } from "../helpers";
import { createSimulator } from "../sim/server";

type Any = Record<string, any>;
const KEY = "gen-SECRET-key-333333";
const SPELT = ["My key is ", "gen-SEC", "RET-key-", "333333", "."];
const PLAIN = ["Nothing ", "to ", "hide", "."];
const logprobsOf = (tokens: string[]) => ({
  content: tokens.map((token) => ({ token, logprob: -0.1, bytes: [...new TextEncoder().encode(token)], top_logprobs: [] })),
  refusal: null,
});

/** A generator (n supported) whose choice 0 spells the key and choice 1 does not; the judge is the simulator's. */
function generator(streamed: boolean): typeof globalThis.fetch {
  const choices = [SPELT, PLAIN];
  const judge = fetchInto(createSimulator().app);
  return async (input, init) => {
    const body = JSON.parse(bodyText(init) || "{}") as Any;
    if (body.model !== "sim-generator") return judge(input, init);
    if (!streamed) {
      const message = (tokens: string[]) => ({ role: "assistant", content: tokens.join(""), refusal: null });
      const json = { id: "c", object: "chat.completion", created: 1, model: "m", choices: choices.map((tokens, index) => ({ index, message: message(tokens), logprobs: logprobsOf(tokens), finish_reason: "stop" })) };
      return Response.json(json);
    }
    const events = choices.flatMap((tokens, index) => [
      ...tokens.map((token) => encodeEvent({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index, delta: { role: "assistant", content: token }, logprobs: logprobsOf([token]), finish_reason: null }] })),
      encodeEvent({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index, delta: {}, finish_reason: "stop" }] }),
    ]);
    return new Response([...events, "data: [DONE]\n\n"].join(""), { headers: { "content-type": "text/event-stream" } });
  };
}

describe("a key spelt token by token", () => {
  for (const streamed of [false, true]) {
    it(`drops the logprobs that spell it and keeps the others (${streamed ? "streamed" : "unstreamed"} draws)`, async () => {
      const { app } = harness({ config: { generator: { api_key: KEY, stream_sampling: streamed } }, deps: { fetch: generator(streamed) } });
      // n: 2 in the body: the client gets both candidates, whichever the judge prefers.
      const text = await (await postChat(app, chatBody({ n: 2, logprobs: true, verdict: { n: 2 } }))).text();
      expect(text).not.toContain("SEC");
      const choices = new Map((JSON.parse(text) as Any).choices.map((c: Any) => [c.message.content, c.logprobs]));
      expect(choices.get("My key is [redacted].")).toBeNull();
      expect((choices.get("Nothing to hide.") as Any).content.map((t: Any) => t.token)).toEqual(PLAIN);
    });
  }

  it("streams the client no logprobs that spell it", async () => {
    const { app } = harness({ config: { generator: { api_key: KEY } }, deps: { fetch: generator(false) } });
    const text = await (await postChat(app, chatBody({ n: 2, logprobs: true, stream: true, verdict: { n: 2 } }))).text();
    expect(text).toContain("[redacted]");
    expect(text).not.toContain("SEC");
    expect(text).toContain('"token":"hide"');
  });
});
