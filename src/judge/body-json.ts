// A judge call's request body as JSON text (src/judge/openai-judge.ts sends it as written). Much of it repeats: the
// model and sampling settings on every call, a system prompt and an answer schema on every call of a task, and within
// one request the conversation and each candidate in every match they play, in both orders. Serialised whole, most of
// a body was that same text escaped again (JSON.stringify of a pairwise body was about 8 µs a call, and with a document
// in the conversation it grows with the document); here each repeated part is escaped once.
import type { ChatMessage } from "../../strategies/types";
import type { RequestMemo } from "./backend";

/** Where a request's escaped parts are kept in its memo (a Map of part to its JSON-escaped text). */
const ESCAPED_PARTS = "openai-judge:escaped-parts";

export interface BodyWriter {
  /** A messages array's JSON text: system prompts (a few fixed texts) serialised once each, the rest each time. */
  messages(list: ChatMessage[]): string;
  /** The JSON text of `[system, user]` with the user's content `parts` joined, each part escaped once per request. */
  systemAndUser(system: string, parts: string[], memo: RequestMemo | undefined): string;
  /** The whole body: `resample` overrides sampling settings (a rematch); `format` is the answer's schema, if asked for. */
  body(messagesJson: string, resample: object | null, format: object | null): string;
}

export function createBodyWriter(model: string, sampling: { temperature: number; max_tokens: number }): BodyWriter {
  const head = `{"model":${JSON.stringify(model)},"messages":`;
  // Never empty (temperature and max_tokens are always there), so the comma before it always has a field after it.
  const samplingJson = (resample: object | null) => JSON.stringify(resample ? { ...sampling, ...resample } : sampling).slice(1, -1);
  const firstLook = samplingJson(null);
  const systemJson = new Map<string, string>();
  const schemaJson = new WeakMap<object, string>();

  const system = (content: string): string => {
    let text = systemJson.get(content);
    if (text === undefined) systemJson.set(content, (text = JSON.stringify({ role: "system", content })));
    return text;
  };
  const schema = (format: object): string => {
    let text = schemaJson.get(format);
    if (text === undefined) schemaJson.set(format, (text = JSON.stringify(format)));
    return text;
  };
  const escapedPart = (part: string, kept: Map<string, string> | undefined): string => {
    let text = kept?.get(part);
    if (text === undefined) {
      text = JSON.stringify(part).slice(1, -1); // escaping goes character by character, so escaped parts concatenate
      kept?.set(part, text);
    }
    return text;
  };

  return {
    messages(list) {
      // Only a bare system message is a fixed text; anything else in it (a name) is serialised as it is.
      const fixed = (m: ChatMessage) => m.role === "system" && typeof m.content === "string" && Object.keys(m).length === 2;
      return `[${list.map((m) => (fixed(m) ? system(m.content as string) : JSON.stringify(m))).join(",")}]`;
    },
    systemAndUser(content, parts, memo) {
      let kept = memo?.get(ESCAPED_PARTS) as Map<string, string> | undefined;
      if (memo && kept === undefined) memo.set(ESCAPED_PARTS, (kept = new Map()));
      let user = "";
      for (const part of parts) user += escapedPart(part, kept);
      return `[${system(content)},{"role":"user","content":"${user}"}]`;
    },
    body(messagesJson, resample, format) {
      return `${head}${messagesJson},${resample ? samplingJson(resample) : firstLook}${format ? `,"response_format":${schema(format)}` : ""}}`;
    },
  };
}
