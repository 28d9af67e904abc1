// A minimal simulated /v1/responses endpoint (text in, text out), so pass-through of the Responses API can be tested.
import type { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { countTokens, simulatedAnswer } from "./generator";
import type { SimOptions } from "./options";
import type { SimRequestRecord } from "./server";

function inputText(input: unknown): string {
  if (typeof input === "string") return input;
  if (!Array.isArray(input)) return "";
  return input
    .map((item: { content?: unknown }) =>
      typeof item.content === "string" ? item.content : Array.isArray(item.content) ? item.content.map((p: { text?: string }) => p.text ?? "").join("") : "",
    )
    .join("\n");
}

export function addResponsesRoute(app: Hono, options: SimOptions, keep: (record: SimRequestRecord) => void, nextId: () => number): void {
  app.post("/v1/responses", async (c) => {
    const body = (await c.req.json()) as Record<string, unknown>;
    const record: SimRequestRecord = { role: "generator", delay_ms: 0, fault: null, body, headers: Object.fromEntries(c.req.raw.headers), aborted: false, finished: false, receivedAt: performance.now() };
    keep(record);
    const callId = nextId();
    const prompt = inputText(body.input);
    const text = simulatedAnswer({ prompt, seed: options.seed * 1_000_003 + callId, minSentences: 1, maxSentences: 3 });
    const id = `resp_sim_${callId}`;
    const message = { id: `msg_sim_${callId}`, type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text, annotations: [] }] };
    const usage = { input_tokens: countTokens(prompt), output_tokens: countTokens(text), total_tokens: countTokens(prompt) + countTokens(text) };
    const response = { id, object: "response", created_at: 1_700_000_000 + callId, status: "completed", model: String(body.model), output: [message], usage };
    record.response = response;
    if (body.stream !== true) {
      (record.finished = true), (record.finishedAt = performance.now());
      return c.json(response);
    }
    return streamSSE(c, async (sse) => {
      let sequence_number = 0;
      const send = (type: string, fields: Record<string, unknown>) =>
        sse.writeSSE({ event: type, data: JSON.stringify({ type, ...fields, sequence_number: sequence_number++ }) });
      const at = { item_id: message.id, output_index: 0, content_index: 0 };
      await send("response.created", { response: { ...response, status: "in_progress", output: [], usage: null } });
      await send("response.output_item.added", { output_index: 0, item: { ...message, status: "in_progress", content: [] } });
      for (const delta of text.match(/\S+\s*/g) ?? []) await send("response.output_text.delta", { ...at, delta, logprobs: [] });
      await send("response.output_text.done", { ...at, text, logprobs: [] });
      await send("response.output_item.done", { output_index: 0, item: message });
      await send("response.completed", { response });
      (record.finished = true), (record.finishedAt = performance.now());
    });
  });
}
