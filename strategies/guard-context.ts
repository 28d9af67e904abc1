// Where a guarded request's documents come from: `verdict.context`, else the messages themselves (a system message
// carrying documents, a message wrapped in <documents>/<context> tags, tool results). And the question being answered.
import { contentText, messageText } from "../src/openai/chat";
import type { ChatMessage } from "./types";

export type ContextSource = "tags" | "system" | "tool";

/** An opening tag's name: <documents>, <document id="1">, <context source="kb">; any case, attributes allowed. */
const OPENING = /<(documents|document|context)(?=[\s>])/gi;

interface TaggedSpan {
  /** Where the whole tagged span starts and ends (opening tag to closing tag). */
  start: number;
  end: number;
  /** What the tags enclose. */
  inner: string;
}

/**
 * The tagged spans of a text, each closed by the same tag, in one pass. Every search starts where the last one of its
 * kind ended, and one that found nothing is not made again: a text of many openers that never close (`<document
 * <document ...`) costs its length, not its square, as the regular expression this replaces did (800 KB held the event
 * loop for 115 s).
 */
function taggedSpans(text: string): TaggedSpan[] {
  const spans: TaggedSpan[] = [];
  const lower = text.toLowerCase();
  let gt = -2; // the next ">" found so far; -1 when there is none
  const nextGt = (from: number) => (gt !== -1 && gt < from ? (gt = lower.indexOf(">", from)) : gt);
  const closes = new Map<string, { at: number; end: number }>();
  /** The next closing tag of `name` at or after `from` (`</name>`, spaces allowed before `>`); at -1 when none is left. */
  const closingOf = (name: string, from: number) => {
    const known = closes.get(name);
    if (known && (known.at === -1 || known.at >= from)) return known;
    const found = { at: -1, end: -1 };
    for (let at = lower.indexOf(`</${name}`, from); at !== -1; at = lower.indexOf(`</${name}`, at + 1)) {
      const end = lower.indexOf(">", at);
      if (end === -1) break;
      if (lower.slice(at + name.length + 2, end).trim() === "") {
        found.at = at;
        found.end = end;
        break;
      }
    }
    closes.set(name, found);
    return found;
  };
  for (let from = 0; ; ) {
    OPENING.lastIndex = from;
    const opening = OPENING.exec(text);
    if (opening === null) return spans;
    const tagEnd = nextGt(opening.index);
    if (tagEnd === -1) return spans; // no tag is complete after this point
    const close = closingOf(opening[1]!.toLowerCase(), tagEnd + 1);
    if (close.at === -1) {
      from = opening.index + 1;
      continue;
    }
    spans.push({ start: opening.index, end: close.end + 1, inner: text.slice(tagEnd + 1, close.at) });
    from = close.end + 1;
  }
}

/** A message's text parts as one text, joined as written (a document split across parts stays whole). */
const textOf = (content: unknown): string => contentText(content, false);

/** The documents found in the conversation, by the configured sources in order; tagged spans win over whole messages. */
export function documentsFromMessages(messages: ChatMessage[], sources: ContextSource[]): string[] {
  const found: string[] = [];
  if (sources.includes("tags")) {
    // Not from the model's own earlier turns: what an assistant once wrote between tags is no document to check against.
    for (const message of messages) {
      if (message.role === "assistant") continue;
      for (const span of taggedSpans(textOf(message.content))) found.push(span.inner.trim());
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

/**
 * A message's text without the documents pasted into it, then a mark for each part that has no text ("[image_url]"):
 * the judge cannot see an image, but must know the question had one rather than read a question that seems complete.
 */
function withoutDocuments(content: unknown): string {
  const text = textOf(content);
  let kept = "";
  let from = 0;
  for (const span of taggedSpans(text)) {
    kept += text.slice(from, span.start);
    from = span.end;
  }
  const marks = Array.isArray(content) ? content.filter((part) => typeof part?.text !== "string" && part?.type).map((part) => contentText([part])) : [];
  return [(kept + text.slice(from)).trim(), ...marks].filter((line) => line !== "").join("\n");
}

/**
 * An earlier turn as the question shows it: an assistant's as the judges read it (src/openai/chat.ts, messageText), with
 * its refusal, what it said aloud and its tool calls (what it looked up).
 */
function turnText(message: ChatMessage): string {
  const text = withoutDocuments(message.content);
  return message.role === "assistant" ? messageText({ ...message, content: text }) : text;
}

/**
 * What the answer has to answer: the last user turn, without any documents pasted into it. After earlier turns it
 * comes with them ("And the other one?" means nothing alone), user's and assistant's, documents left out; system and
 * tool messages are instructions and documents, not the question.
 */
export function questionOf(messages: ChatMessage[]): string {
  const last = messages.findLastIndex((m) => m.role === "user");
  const question = withoutDocuments(messages[last]?.content);
  const earlier = messages
    .slice(0, Math.max(0, last))
    .filter((m) => m.role === "user" || m.role === "assistant")
    .map((m) => [m.role, turnText(m)] as const)
    .filter(([, text]) => text !== "");
  if (earlier.length === 0) return question;
  return `Earlier in the conversation:\n${earlier.map(([role, text]) => `[${role}] ${text}`).join("\n")}\n\nThe question now:\n${question}`;
}

export function normaliseContext(context: string | string[] | undefined): string[] | undefined {
  if (context === undefined) return undefined;
  const documents = (Array.isArray(context) ? context : [context]).map((d) => d.trim()).filter(Boolean);
  return documents.length > 0 ? documents : undefined;
}
