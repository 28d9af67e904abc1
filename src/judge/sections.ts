// Judge prompts put untrusted text (conversation, candidates, documents) inside tagged sections. A candidate must not
// be able to close its own section and speak as the prompt, so every section tag inside untrusted text is defused.
import { messageText } from "../openai/chat";
import type { ChatMessage } from "../../strategies/types";

const SECTION_TAGS = ["conversation", "response_a", "response_b", "response", "rubric", "QUESTION", "DOCUMENT", "ANSWER"] as const;
/** Any spelling a reader might take for one of the tags: `< /Response_A >`, `<response_a id="x">`, `</ANSWER\n>`. */
const TAG_PATTERN = new RegExp(`<\\s*(/?)\\s*(${SECTION_TAGS.join("|")})\\b([^<>]*)>`, "gi");

export function neutraliseTags(text: string): string {
  // Most texts have no "<" at all, and finding that out is far quicker than running the pattern over them: this is
  // done for each answer in every judge call (about 0.7% of a best-of-4's CPU under load before).
  if (!text.includes("<")) return text;
  return text.replace(TAG_PATTERN, (_m, slash: string, name: string, rest: string) => `&lt;${slash}${name}${rest}&gt;`);
}

type SectionTag = (typeof SECTION_TAGS)[number];
const OPENING = Object.fromEntries(SECTION_TAGS.map((tag) => [tag, `<${tag}>\n`])) as Record<SectionTag, string>;
const CLOSING = Object.fromEntries(SECTION_TAGS.map((tag) => [tag, `\n</${tag}>`])) as Record<SectionTag, string>;

/** A section as its fixed opening, its defused text and its fixed closing (the same strings each time). */
export function sectionParts(tag: SectionTag, text: string): [string, string, string] {
  return [OPENING[tag], neutraliseTags(text), CLOSING[tag]];
}

export function section(tag: SectionTag, text: string): string {
  return sectionParts(tag, text).join("");
}

export function renderConversation(conversation: ChatMessage[]): string {
  return conversation
    .map((m) => {
      const name = typeof m.name === "string" ? ` (${m.name})` : "";
      // messageText, not just content: an earlier assistant turn may be a tool call the judge needs to see.
      return `[${m.role}${name}]\n${messageText(m)}`;
    })
    .join("\n\n");
}

const conversationSections = new WeakMap<ChatMessage[], string>();

/**
 * The conversation's section: every judgment of a request shows the same conversation (a best-of-4 makes seven or so),
 * so it is rendered and searched for tags once per conversation, not once per judge call. Kept by the array itself:
 * a conversation is a request's parsed `messages`, which nothing changes once judging starts (a caller that changed
 * one in place and had it judged again would be shown the old section).
 */
export function conversationSection(conversation: ChatMessage[]): string {
  let text = conversationSections.get(conversation);
  if (text === undefined) conversationSections.set(conversation, (text = section("conversation", renderConversation(conversation))));
  return text;
}
