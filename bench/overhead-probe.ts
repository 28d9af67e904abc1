// Checks what bench/overhead.ts measures is a correct answer: wrk counts answers of status 400 and above (not
// redirects) and never reads a body, so each target gets one plain and one streamed request before and after the load:
// anything but a 2xx is an error here, and both bodies are parsed.

import type { Path } from "./overhead-table";

export interface Target {
  name: Path;
  url: string;
}

/** The request every path gets, byte for byte: every path ignores the headers meant for the others. */
export function requestBody(stream: boolean): Record<string, unknown> {
  return {
    model: "sim-generator",
    messages: [{ role: "user", content: "How do I keep a proxy's overhead low?" }],
    max_tokens: 64,
    ...(stream ? { stream: true } : {}),
  };
}

export function requestHeaders(simUrl: string): Record<string, string> {
  return {
    "content-type": "application/json",
    authorization: "Bearer sk-bench",
    // verdict: one candidate, so the request is a plain pass-through.
    "x-verdict-n": "1",
    // Portkey: the OpenAI provider with the simulator as a custom host (http on loopback is on its trusted list).
    "x-portkey-provider": "openai",
    "x-portkey-custom-host": simUrl,
  };
}

/** A non-empty error list means the answer is not what a client of that path would accept. */
function checkCompletion(text: string): string[] {
  let body: { object?: unknown; choices?: { message?: { content?: unknown } }[]; verdict?: unknown };
  try {
    body = JSON.parse(text);
  } catch {
    return [`body is not JSON: ${text.slice(0, 120)}`];
  }
  if (body.object !== "chat.completion") return [`object is ${JSON.stringify(body.object)}, not chat.completion`];
  if (typeof body.choices?.[0]?.message?.content !== "string") return ["choices[0].message.content is not a string"];
  if (body.verdict !== undefined) return ["a verdict object: the request was reranked, not passed through"];
  return [];
}

/** SSE as OpenAI sends it: `data:` events of chat.completion.chunk JSON, some text, a finish_reason, then [DONE]. */
function checkStream(text: string): string[] {
  const events = text.split(/\r?\n\r?\n/).map((e) => e.trim()).filter((e) => e && !e.startsWith(":"));
  if (events.at(-1) !== "data: [DONE]") return [`stream does not end with data: [DONE] (last: ${JSON.stringify(events.at(-1)?.slice(0, 80))})`];
  let content = "";
  let finished = false;
  for (const event of events.slice(0, -1)) {
    if (!event.startsWith("data: ")) return [`not a data event: ${JSON.stringify(event.slice(0, 80))}`];
    let chunk: { object?: unknown; choices?: { delta?: { content?: unknown }; finish_reason?: unknown }[] };
    try {
      chunk = JSON.parse(event.slice(6));
    } catch {
      return [`event is not JSON: ${JSON.stringify(event.slice(0, 80))}`];
    }
    if (chunk.object !== "chat.completion.chunk") return [`chunk object is ${JSON.stringify(chunk.object)}`];
    const choice = chunk.choices?.[0];
    if (typeof choice?.delta?.content === "string") content += choice.delta.content;
    if (choice?.finish_reason) finished = true;
  }
  if (!content) return ["stream carried no text"];
  if (!finished) return ["stream has no finish_reason"];
  return [];
}

/** One plain and one streamed request to `target`; returns what was wrong, prefixed with the target and mode. */
export async function probe(target: Target, simUrl: string): Promise<string[]> {
  const errors: string[] = [];
  for (const stream of [false, true]) {
    const where = `${target.name} ${stream ? "stream" : "plain"}`;
    try {
      const res = await fetch(`${target.url}/chat/completions`, {
        method: "POST",
        headers: requestHeaders(simUrl),
        body: JSON.stringify(requestBody(stream)),
        signal: AbortSignal.timeout(10_000),
        redirect: "manual", // a redirect is no answer, and wrk would not count it as an error
      });
      const text = await res.text();
      if (!res.ok) errors.push(`${where}: status ${res.status}: ${text.slice(0, 200)}`);
      else errors.push(...(stream ? checkStream(text) : checkCompletion(text)).map((e) => `${where}: ${e}`));
    } catch (err) {
      errors.push(`${where}: ${(err as Error).message}`);
    }
  }
  return errors;
}
