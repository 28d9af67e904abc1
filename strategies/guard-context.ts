// Where a guarded request's documents come from: `verdict.context`, else the messages themselves (a system message
// carrying documents, a message wrapped in <documents>/<context> tags, tool results). And the question being answered.
import type { ChatMessage } from "./types";

export type ContextSource = "tags" | "system" | "tool";

/** <documents>, <document id="1">, <context source="kb">: attributes allowed, the same tag closing it. */
const TAGGED = /<(documents?|context)(?:\s[^>]*)?>([\s\S]*?)<\/\1\s*>/gi;

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((p: { text?: unknown }) => (typeof p?.text === "string" ? p.text : "")).join("");
}

/** The documents found in the conversation, by the configured sources in order; tagged spans win over whole messages. */
export function documentsFromMessages(messages: ChatMessage[], sources: ContextSource[]): string[] {
  const found: string[] = [];
  if (sources.includes("tags")) {
    for (const message of messages) {
      for (const match of textOf(message.content).matchAll(TAGGED)) found.push(match[2]!.trim());
    }
  }
  if (found.length > 0) return found.filter(Boolean);
  for (const message of messages) {
    const text = textOf(message.content).trim();
    if (!text) continue;
    if (sources.includes("tool") && (message.role === "tool" || message.role === "function")) found.push(text);
    if (sources.includes("system") && (message.role === "system" || message.role === "developer")) found.push(text);
  }
  return found;
}

/** The last user turn, without any documents pasted into it: what the answer has to answer. */
export function questionOf(messages: ChatMessage[]): string {
  const lastUser = [...messages].reverse().find((m) => m.role === "user");
  return textOf(lastUser?.content).replace(TAGGED, "").trim();
}

export function normaliseContext(context: string | string[] | undefined): string[] | undefined {
  if (context === undefined) return undefined;
  const documents = (Array.isArray(context) ? context : [context]).map((d) => d.trim()).filter(Boolean);
  return documents.length > 0 ? documents : undefined;
}
