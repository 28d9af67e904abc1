// Input limits checked before anything goes upstream: the body must be JSON, sent uncompressed, and the conversation
// must fit the configured message count and character total. Each refusal names what to fix: a 400, or a 415 for a
// compressed body.
import type { Config } from "./config";
import { badRequest, paramOf, ProxyError } from "./errors";
import { contentText } from "./openai/chat";

const JSON_TYPE = /^\s*application\/([\w.+-]*\+)?json\b/i;

/**
 * Refuses a JSON body sent compressed (`Content-Encoding: gzip` and the like): verdict reads what it is sent as the
 * JSON itself, so such a body would look malformed, or, passed through, carry verdict's options past the check that
 * refuses them. 415 with `accept-encoding: identity`, as HTTP says for a content coding the server does not take.
 */
export function refuseEncodedBody(contentEncoding: string | null | undefined): void {
  const coding = contentEncoding?.trim().toLowerCase() ?? "";
  if (coding === "" || coding === "identity") return;
  throw new ProxyError(415, `request body must be sent uncompressed: content-encoding ${coding.slice(0, 40)} is not supported`, {
    param: "content-encoding",
    code: "unsupported_content_encoding",
    headers: { "accept-encoding": "identity" },
  });
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const lenientUtf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: false });

/**
 * A request body's text, and whether its bytes were UTF-8. Bytes that are not are still decoded (each bad sequence as
 * U+FFFD), so that what the body is (multipart, not JSON at all) is refused first; JSON that is not UTF-8 is refused
 * by parseJsonBody rather than sent on with the client's text changed.
 */
export function bodyText(bytes: Uint8Array): { text: string; utf8: boolean } {
  try {
    return { text: strictUtf8.decode(bytes), utf8: true };
  } catch {
    return { text: lenientUtf8.decode(bytes), utf8: false };
  }
}

/**
 * Parses a request body as a JSON object. A missing or generic content type is tolerated when the body is JSON
 * (curl's `-d` sends form-urlencoded, text/plain is common); multipart bodies, and non-JSON text declared as
 * anything but JSON, are refused with `param: "content-type"`; JSON whose bytes were not UTF-8 (`utf8` false, from
 * bodyText) is `invalid_json`.
 */
export function parseJsonBody(raw: string, contentType: string | null, limits?: Config["limits"], utf8 = true): Record<string, unknown> {
  if (contentType !== null && /^\s*multipart\//i.test(contentType)) throw wrongType(contentType);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    // Declared as something other than JSON and is not JSON: the content type is what to fix.
    if (contentType !== null && contentType.trim() !== "" && !JSON_TYPE.test(contentType)) {
      throw wrongType(contentType);
    }
    throw badRequest("request body is not valid JSON", null, "invalid_json");
  }
  if (!utf8) throw badRequest("request body is not valid UTF-8, which JSON text must be", null, "invalid_json");
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw badRequest("request body must be a JSON object", null, "invalid_json");
  }
  const maxValues = valuesAllowed(limits);
  const shape = shapeOf(raw, maxValues);
  if (shape === "too_deep") {
    throw badRequest(`request body nests arrays and objects more than ${MAX_NESTING} deep`, null, "nesting_too_deep");
  }
  if (shape === "too_many_values") {
    throw badRequest(`request body holds more than ${maxValues} values (array items and object members)`, null, "too_many_values");
  }
  // Only text that could hold one is searched: a number past a double's range would go upstream as null.
  const tooLarge = MIGHT_OVERFLOW.test(raw) ? overflowingNumber(json, []) : undefined;
  if (tooLarge !== undefined) {
    const param = paramOf(tooLarge);
    throw badRequest(`invalid ${param}: the number is too large (beyond a double's range)`, param, "invalid_value");
  }
  return json as Record<string, unknown>;
}

/**
 * A JSON number JSON.parse reads as Infinity: an exponent of three digits or more, or 309 digits and more. A run of
 * digits is tried only from its start (the lookbehind): tried from every digit, a body of 308-digit runs took seconds.
 */
const MIGHT_OVERFLOW = /[eE][+-]?\d{3}|(?<!\d)\d{309}/;

/** The path of the first number in `value` that parsed as Infinity, if any (the body is at most MAX_NESTING deep). */
function overflowingNumber(value: unknown, path: (string | number)[]): (string | number)[] | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? undefined : path;
  if (typeof value !== "object" || value === null) return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const found = overflowingNumber(inner, [...path, Array.isArray(value) ? Number(key) : key]);
    if (found) return found;
  }
  return undefined;
}

/**
 * Deeper than any real request needs (tool and response schemas included), and far from the depth at which
 * serialising the body again (to forward it, to key the judge cache) would exhaust the stack and fail as a 500.
 */
const MAX_NESTING = 128;

/**
 * More than any real request holds (2,048 messages, 128 tools with their schemas and a long enum fit many times over),
 * and 20 per message allowed when limits.max_messages is raised further. Checking a body's shape takes time with its
 * number of values, and a body of 4 MiB can hold two million: a list of that many wrong messages or content parts
 * blocked every other request for over ten seconds while each was reported.
 */
const MAX_VALUES = 50_000;

function valuesAllowed(limits: Config["limits"] | undefined): number {
  return limits === undefined ? MAX_VALUES : Math.max(MAX_VALUES, 20 * limits.max_messages);
}

/**
 * Whether a JSON text opens more than MAX_NESTING arrays and objects inside each other, or holds more than `maxValues`
 * values (counted as the commas and opening brackets between them); strings are skipped.
 */
function shapeOf(text: string, maxValues: number): "too_deep" | "too_many_values" | "fits" {
  if (text.length <= 2 * MAX_NESTING) return "fits"; // too short to hold that many brackets or values
  let depth = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x2c) {
      if (++values > maxValues) return "too_many_values";
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_NESTING) return "too_deep";
      if (++values > maxValues) return "too_many_values";
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return "fits";
}

function wrongType(contentType: string) {
  const shown = contentType.split(";")[0]!.trim().slice(0, 80);
  return badRequest(`request body must be JSON sent as content-type: application/json (got ${shown})`, "content-type", "unsupported_content_type");
}

const textLength = (value: unknown): number => (typeof value === "string" ? value.length : 0);

type Call = { function?: { name?: unknown; arguments?: unknown }; custom?: { name?: unknown; input?: unknown } } | null | undefined;

/** A call as the judge reads it (src/openai/chat.ts, callText): name and arguments or input, else the whole call. */
function callChars(call: Call): number {
  if (call?.function) return textLength(call.function.name) + textLength(call.function.arguments);
  if (call?.custom) return textLength(call.custom.name) + textLength(call.custom.input);
  return call ? (JSON.stringify(call)?.length ?? 0) : 0;
}

/**
 * Characters of text a message carries, as the judge will read them: its content (strings and text parts), its
 * author's `name`, its refusal, and its calls (tool calls, a legacy function call). A Responses input item may
 * instead be a tool call (`arguments`) or a tool's result (`output`), passed through as it is.
 */
function messageChars(message: Record<string, unknown>): number {
  let chars = contentText(message.content).length + contentText(message.output).length + textLength(message.arguments) + textLength(message.name) + textLength(message.refusal);
  if (Array.isArray(message.tool_calls)) for (const call of message.tool_calls as Call[]) chars += callChars(call);
  if (message.function_call) chars += callChars({ function: message.function_call as NonNullable<Call>["function"] });
  return chars;
}

/** The characters of text a conversation carries, as max_chars counts them. */
export function conversationChars(messages: Record<string, unknown>[]): number {
  let total = 0;
  for (const message of messages) total += messageChars(message);
  return total;
}

/**
 * A guard's documents given apart from the messages (verdict.context) go to the judge with the conversation, once per
 * candidate: they count toward max_chars with it.
 */
export function checkContextLimit(documents: string[], messages: Record<string, unknown>[], limits: Config["limits"], param: string): void {
  let total = conversationChars(messages);
  for (const document of documents) total += document.length;
  if (total > limits.max_chars) {
    throw badRequest(`the documents and the conversation are longer than this proxy's limit of ${limits.max_chars} characters (UTF-16 units)`, param, "conversation_too_long");
  }
}

/**
 * `param`: the field the conversation came in (`messages`; `input` on /v1/responses). `leading`: entries before it that
 * the client sent in another field (a Responses request's `instructions`, sent first as a system message): counted,
 * and named by that field, so that an index points at the client's own entry.
 */
export function checkConversationLimits(messages: Record<string, unknown>[], limits: Config["limits"], param = "messages", leading?: string): void {
  const offset = leading === undefined ? 0 : 1;
  checkMessageCount(messages, limits, param, leading);
  let total = 0;
  for (const [index, message] of messages.entries()) {
    total += messageChars(message);
    if (total > limits.max_chars) {
      throw badRequest(
        `the conversation is longer than this proxy's limit of ${limits.max_chars} characters (UTF-16 units; reached at ${index < offset ? leading : `${param}[${index - offset}]`})`,
        param,
        "conversation_too_long",
      );
    }
  }
}

/**
 * A conversation with more entries than the limit, refused before its entries are checked one by one (a long list of
 * wrong ones would be reported entry by entry). `list`: the conversation as the client sent it, of any shape.
 */
export function checkMessageCount(list: unknown, limits: Config["limits"], param = "messages", leading?: string): void {
  if (!Array.isArray(list) || list.length <= limits.max_messages) return;
  const counted = leading === undefined ? "" : ` (with ${leading})`;
  throw badRequest(`${param}${counted} has ${list.length} entries; this proxy accepts at most ${limits.max_messages}`, param, "too_many_messages");
}
