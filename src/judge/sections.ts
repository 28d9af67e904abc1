// Judge prompts put untrusted text (conversation, candidates, documents) inside tagged sections. A candidate must not
// be able to close its own section and speak as the prompt, so every section tag inside untrusted text is defused.
import { messageText } from "../openai/chat";
import type { ChatMessage } from "../../strategies/types";

const SECTION_TAGS = ["conversation", "response_a", "response_b", "response", "rubric", "QUESTION", "DOCUMENT", "ANSWER"] as const;
/** `<` and the look-alikes a model reads as one: full-width ＜ and the single angle quotation mark ‹. */
const OPEN = "<\\uFF1C\\u2039";
const CLOSE = ">\\uFF1E\\u203A";
/**
 * Characters that show nothing: Unicode's format characters (a soft hyphen, zero-width spaces and joiners, direction
 * marks and isolates, word joiners, invisible operators, the byte order mark), the combining grapheme joiner,
 * variation selectors (both blocks), the Hangul fillers and the blank braille pattern.
 */
const INVISIBLE = "\\p{Cf}\\u034F\\uFE00-\\uFE0F\\u{E0100}-\\u{E01EF}\\u115F\\u1160\\u3164\\uFFA0\\u2800";
/** Space a reader skips: white space and the characters that show nothing. */
const GAP = `[\\s${INVISIBLE}]*`;
/** A tag's name as a reader sees it, with invisible characters anywhere inside (`resp\u2063onse_a`). */
const spelled = (name: string) => [...name].join(`[${INVISIBLE}]*`);
/**
 * Any spelling a reader might take for one of the tags: `< /Response_A >`, `<response_a id="x">`, `</ANSWER\n>`,
 * `<\u200B/response_b>`, `＜/response_a＞`, and one left unclosed (`</response_a` at the end of a line or the text).
 * Linear: the space before and after the slash cannot be split two ways (the slash is needed for the second).
 */
const TAG_PATTERN = new RegExp(`[${OPEN}]${GAP}(?:(/)${GAP})?(${SECTION_TAGS.map(spelled).join("|")})\\b([^${OPEN}${CLOSE}]*)([${CLOSE}]?)`, "giu");
/**
 * A chat template's special tokens written as text (`<|eot_id|>`, `<|im_start|>`, DeepSeek's full-width `<｜…｜>`,
 * `</s>`, Gemma's `<start_of_turn>` and `<end_of_turn>`): a server whose tokenizer reads them in message text as the
 * tokens themselves would let a candidate end the judge's turn and write its verdict. Shown with `&lt;`, they are
 * plain text.
 */
const SPECIAL_TOKEN = /<(?=[|\uFF5C][^\n<>]{1,64}[|\uFF5C]>|\/?s>|(?:start|end)_of_turn>|\/?(?:bos|eos)>)/g;
/** A character that could start either: most texts have none, and need no pattern run over them. */
const MAYBE_TAG = /[<\uFF1C\u2039]/;

export function neutraliseTags(text: string): string {
  // Most texts have no "<" at all, and finding that out is far quicker than running the patterns over them: this is
  // done for each answer in every judge call (about 0.7% of a best-of-4's CPU under load before).
  if (!MAYBE_TAG.test(text)) return text;
  return text
    // Only the brackets change: the text between them is shown as it was written ("latency < response time" too).
    .replace(TAG_PATTERN, (match: string, _slash, _name, _rest, close: string) => `&lt;${match.slice(1, close ? -1 : undefined)}${close ? "&gt;" : ""}`)
    .replace(SPECIAL_TOKEN, "&lt;");
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
