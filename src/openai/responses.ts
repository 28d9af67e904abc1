// The Responses API (/v1/responses) in terms of chat completions: a text-only request becomes chat messages, and the
// reranked chat.completion becomes a Response object. Anything beyond text (tools, files, stored state) is not mapped.
import { z } from "zod";
import { badRequest } from "../errors";
import { contentText, type Usage } from "./chat";

const optional = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

/**
 * What verdict reads or maps to chat completions is checked here, as OpenAI checks it: a wrong type would otherwise be
 * dropped or renamed on its way to the generator, and its error lost. Other fields go along unchecked.
 */
export const responsesRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.looseObject({}))], { error: "must be text or a list of input items (objects)" }).optional(),
  instructions: optional(z.string()),
  stream: optional(z.boolean()),
  temperature: optional(z.number().min(0).max(2)),
  top_p: optional(z.number().min(0).max(1)),
  max_output_tokens: optional(z.number().int().min(1)),
  user: optional(z.string()),
  service_tier: optional(z.string()),
  store: optional(z.boolean()),
  safety_identifier: optional(z.string()),
  prompt_cache_key: optional(z.string()),
  metadata: optional(z.record(z.string(), z.string())),
  reasoning: optional(z.looseObject({ effort: optional(z.string()) })),
  text: optional(z.looseObject({ format: optional(z.looseObject({ type: z.string() })), verbosity: optional(z.string()) })),
  // Checked on either path: tools that are no list would be read as none, and the request reranked without them.
  tools: optional(z.array(z.looseObject({}), { error: "must be a list of tools (objects)" })),
  // The Responses API has no `n`: one answer, which verdict chooses among verdict.n candidates.
  n: z.never({ error: "the Responses API has no n: one answer comes back; verdict.n sets how many candidates it is chosen from" }).optional(),
  verdict: z.unknown().optional(),
});

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;

/** Text parts, and the field each keeps its text in: a refusal part (an earlier answer sent back) holds it as `refusal`. */
const TEXT_PARTS: Record<string, "text" | "refusal"> = { input_text: "text", output_text: "text", text: "text", refusal: "refusal" };
const ROLES = new Set(["system", "developer", "user", "assistant"]);

/**
 * A client's type or role name as the reason a request was passed through (the x-verdict-passthrough header): only a
 * plain name is repeated, since a header cannot hold just any text and an error there would come after the upstream
 * call had begun.
 */
const nameIn = (value: unknown) => (typeof value === "string" && /^[\w.-]{1,64}$/.test(value) ? value : "of another kind");

/** `skip`: why the request goes to the generator as it is; `param`: the request field that says so. */
type Mapped = { chat: Record<string, unknown> } | { skip: string; param: string };

function messagesOf(input: ResponsesRequest["input"]): { role: string; content: string }[] | string {
  if (input === undefined) return "no input";
  if (typeof input === "string") return [{ role: "user", content: input }];
  const messages: { role: string; content: string }[] = [];
  for (const [i, item] of (input as Record<string, unknown>[]).entries()) {
    const role = typeof item.role === "string" && ROLES.has(item.role) ? item.role : undefined;
    if ((item.type !== undefined && item.type !== "message") || role === undefined) return `input item ${nameIn(item.type ?? item.role)}`;
    if (typeof item.content === "string") {
      messages.push({ role, content: item.content });
      continue;
    }
    if (!Array.isArray(item.content)) return "input item without content";
    const parts = item.content as { type?: unknown; text?: unknown }[];
    const notPart = parts.findIndex((part) => typeof part !== "object" || part === null || Array.isArray(part));
    if (notPart >= 0) throw badRequest(`input[${i}].content[${notPart}] must be a content part object`, `input[${i}].content[${notPart}]`);
    const fieldOf = (part: { type?: unknown }) => (typeof part.type === "string" && Object.hasOwn(TEXT_PARTS, part.type) ? TEXT_PARTS[part.type] : undefined);
    const other = parts.find((part) => fieldOf(part) === undefined);
    if (other) return `input part ${nameIn(other.type)}`;
    const texts = parts.map((part: Record<string, unknown>, j) => {
      const field = fieldOf(part)!;
      if (typeof part[field] !== "string") throw badRequest(`input[${i}].content[${j}].${field} must be a string`, `input[${i}].content[${j}].${field}`);
      return part[field];
    });
    // One part after another as separate lines: glued together, "Hello" and "world" would read "Helloworld".
    messages.push({ role, content: texts.join("\n") });
  }
  return messages;
}

/** response_format for chat completions from the Responses API's text.format. */
function responseFormatOf(text: unknown): Record<string, unknown> | undefined {
  const format = (text as { format?: Record<string, unknown> } | undefined)?.format;
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return { type: "json_object" };
  if (format.type !== "json_schema") throw badRequest('text.format.type must be "text", "json_object" or "json_schema"', "text.format.type");
  // As OpenAI checks them: without these the generator would get `json_schema: {}` and its error name other fields.
  if (typeof format.name !== "string" || !/^[\w-]{1,64}$/.test(format.name)) {
    throw badRequest("text.format.name must be 1 to 64 letters, digits, underscores or dashes", "text.format.name");
  }
  if (typeof format.schema !== "object" || format.schema === null || Array.isArray(format.schema)) {
    throw badRequest("text.format.schema must be a JSON Schema object", "text.format.schema");
  }
  const { type: _type, ...schema } = format;
  return { type: "json_schema", json_schema: schema };
}

/**
 * The settings chat completions share, as [Responses name, chat name]; the rest (include, top_logprobs, truncation...)
 * has no chat counterpart and is not sent (README).
 */
const SHARED_SETTINGS: [string, string][] = [
  ["temperature", "temperature"], ["top_p", "top_p"], ["max_output_tokens", "max_completion_tokens"], ["user", "user"],
  ["service_tier", "service_tier"], ["store", "store"], ["safety_identifier", "safety_identifier"],
  ["prompt_cache_key", "prompt_cache_key"],
];

/**
 * Chat completions' own parameters, which the Responses API does not have, with the Responses name where there is one.
 * Reranking refuses them rather than drop them on the way to the generator (a length cap or JSON mode silently gone);
 * a request passed through goes as it is, for its upstream to judge.
 */
const CHAT_ONLY: Record<string, string | null> = {
  messages: "input", max_tokens: "max_output_tokens", max_completion_tokens: "max_output_tokens",
  response_format: "text.format", reasoning_effort: "reasoning.effort", verbosity: "text.verbosity", seed: null,
  stop: null, frequency_penalty: null, presence_penalty: null, logit_bias: null, logprobs: null,
  functions: "tools", function_call: "tool_choice", web_search_options: "tools", modalities: null, audio: null,
  prediction: null,
};

/** How the chat request's messages came from the Responses request: instructions first, then one per input item. */
export interface InputShape {
  instructions: boolean;
  /** `input` was a string: one message, no items to name. */
  textInput: boolean;
}

/** The input item (or the instructions) a chat message came from: `messages[2].content` is `input[1].content` after instructions. */
function inputParamOf(rest: string, shape: InputShape): string {
  const item = /^\[(\d+)\](.*)$/.exec(rest);
  if (!item) return "input";
  const index = Number(item[1]) - (shape.instructions ? 1 : 0);
  if (index < 0) return "instructions";
  return shape.textInput ? "input" : `input[${index}]${item[2]}`;
}

/**
 * The Responses request's name for a parameter of the chat request it became, so that an error (the generator's, say
 * about max_completion_tokens) names what the client sent (max_output_tokens), down to the field within it.
 */
export function responsesParamOf(param: string | null, shape: InputShape = { instructions: false, textInput: false }): string | null {
  if (param === null) return null;
  const head = /^[^.[]*/.exec(param)![0];
  const rest = param.slice(head.length);
  if (head === "messages") return inputParamOf(rest, shape);
  // The chat format nests its schema's fields one level deeper: response_format.json_schema.name is text.format.name.
  if (head === "response_format") return `text.format${rest.replace(/^\.json_schema(?=\.|$)/, "")}`;
  const renamed = Object.hasOwn(CHAT_ONLY, head) ? CHAT_ONLY[head] : null;
  if (renamed) return renamed;
  const shared = SHARED_SETTINGS.find(([, chat]) => chat === head);
  return shared ? `${shared[0]}${rest}` : param;
}

/** Refuses a request to rerank that carries one of CHAT_ONLY's parameters, naming it and what to send instead. */
export function refuseChatOnly(body: ResponsesRequest): void {
  for (const field in CHAT_ONLY) {
    if (body[field] === undefined) continue;
    const instead = CHAT_ONLY[field];
    const hint = instead ? `; send ${instead} instead` : "";
    throw badRequest(`${field} is a chat completions parameter, not one of the Responses API${hint}`, field, "unknown_parameter");
  }
}

/** The chat request to rerank, or why this request has to go to the generator as it is. */
export function toChatRequest(body: ResponsesRequest): Mapped {
  // Checked on either path: a format the chat request could not take is refused, tools or not.
  const responseFormat = responseFormatOf(body.text);
  for (const field of ["previous_response_id", "conversation", "prompt", "background"]) {
    if (body[field] != null && body[field] !== false) return { skip: field, param: field };
  }
  if (Array.isArray(body.tools) && body.tools.length > 0) return { skip: "tools", param: "tools" };
  const messages = messagesOf(body.input);
  if (typeof messages === "string") return { skip: messages, param: "input" };
  if (body.instructions) messages.unshift({ role: "system", content: body.instructions });
  const chat: Record<string, unknown> = { model: body.model, messages };
  for (const [from, to] of SHARED_SETTINGS) if (body[from] != null) chat[to] = body[from];
  // Chat completions take metadata only for stored completions (the Responses API stores by default, chat does not).
  if (body.metadata != null && body.store === true) chat.metadata = body.metadata;
  const effort = (body.reasoning as { effort?: unknown } | null | undefined)?.effort;
  if (effort != null) chat.reasoning_effort = effort;
  if (responseFormat) chat.response_format = responseFormat;
  const verbosity = (body.text as { verbosity?: unknown } | null | undefined)?.verbosity;
  if (verbosity != null) chat.verbosity = verbosity;
  return { chat };
}

export interface ChatResult {
  choices: { message: Record<string, unknown>; finish_reason: string | null }[];
  usage: Usage;
  verdict?: unknown;
}

/** The request's text settings as a Response states them: its format (plain text unless given) and verbosity. */
function echoedText(text: { format?: unknown; verbosity?: unknown } | null | undefined) {
  return { format: text?.format ?? { type: "text" }, ...(typeof text?.verbosity === "string" ? { verbosity: text.verbosity } : {}) };
}

/** The Response fields that do not depend on the answer, echoing the request's settings as OpenAI does. */
export function responseShell(body: ResponsesRequest, id: string, createdAt: number, model: string) {
  return {
    id,
    object: "response" as const,
    created_at: createdAt,
    status: "in_progress" as string,
    error: null,
    incomplete_details: null as { reason: string } | null,
    instructions: body.instructions ?? null,
    max_output_tokens: (body.max_output_tokens as number | undefined) ?? null,
    metadata: (body.metadata as Record<string, string> | undefined) ?? {},
    model,
    output: [] as unknown[],
    parallel_tool_calls: typeof body.parallel_tool_calls === "boolean" ? body.parallel_tool_calls : true,
    previous_response_id: null,
    temperature: (body.temperature as number | undefined) ?? 1,
    text: echoedText(body.text as { format?: unknown; verbosity?: unknown } | null | undefined),
    // As the request set it; a text-only request has no tools for it to name, so it cannot change the answer.
    tool_choice: body.tool_choice ?? "auto",
    tools: [],
    top_p: (body.top_p as number | undefined) ?? 1,
    // Nothing is ever cut here; "auto" asked for a cut only where one would be needed.
    truncation: body.truncation === "auto" ? "auto" : "disabled",
    usage: null as unknown,
    ...(typeof body.user === "string" ? { user: body.user } : {}),
  };
}

/** Ids of the Responses verdict makes: marked, so that a later turn naming one can be told it was never stored. */
const OWN_ID_PREFIX = "resp_verdict_";
export const newResponseId = () => `${OWN_ID_PREFIX}${crypto.randomUUID().replace(/-/g, "")}`;
export const isOwnResponseId = (id: unknown) => typeof id === "string" && id.startsWith(OWN_ID_PREFIX);

/**
 * A chat message's annotations as the Responses API writes them: a chat citation nests its fields under its type
 * (`{type: "url_citation", url_citation: {url, ...}}`), a Responses one has them beside it. Others are kept as they came.
 */
function outputAnnotations(annotations: unknown): unknown[] {
  if (!Array.isArray(annotations)) return [];
  return annotations.map((annotation: { type?: unknown } & Record<string, unknown>) => {
    const nested = typeof annotation?.type === "string" ? annotation[annotation.type] : undefined;
    if (typeof nested !== "object" || nested === null || Array.isArray(nested)) return annotation;
    const { [annotation.type as string]: _nested, ...rest } = annotation;
    return { ...rest, ...nested };
  });
}

export type OutputPart =
  | { type: "output_text"; text: string; annotations: unknown[]; logprobs: unknown[] }
  | { type: "refusal"; refusal: string };

/**
 * The winner as a Response output message; a truncated or filtered answer makes the response "incomplete". Its text
 * and its refusal are parts of their own: a model that declined says so in a refusal part, and one that wrote an answer
 * and a refusal (or an empty refusal beside its answer, as some servers send) keeps its answer.
 */
export function outputMessage(result: ChatResult, id: string) {
  const choice = result.choices[0]!;
  const { message } = choice;
  const refusal = typeof message.refusal === "string" && message.refusal !== "" ? message.refusal : null;
  const text = contentText(message.content, false);
  const incomplete = choice.finish_reason === "length" ? "max_output_tokens" : choice.finish_reason === "content_filter" ? "content_filter" : null;
  const content: OutputPart[] = [];
  if (text !== "" || refusal === null) content.push({ type: "output_text", text, annotations: outputAnnotations(message.annotations), logprobs: [] });
  if (refusal !== null) content.push({ type: "refusal", refusal });
  return {
    incomplete,
    item: { id, type: "message" as const, status: incomplete ? "incomplete" : "completed", role: "assistant" as const, content },
  };
}

/** Chat usage in the Responses API's words; the upstreams' own breakdowns where they gave one. */
export function usageOf(usage: Usage) {
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens,
  };
}

/**
 * The finished Response: the shell, the winner's message, every token the request spent, and the verdict. Streamed or
 * not, it names the model it was asked of and the second the request arrived: a stream must say both before the
 * upstream has answered, and the two forms of one request should not differ.
 */
export function toResponseObject(body: ResponsesRequest, result: ChatResult, id: string, createdAt: number) {
  const { incomplete, item } = outputMessage(result, `msg_${id.slice(5)}`);
  return {
    ...responseShell(body, id, createdAt, body.model),
    status: incomplete ? "incomplete" : "completed",
    ...(incomplete ? { incomplete_details: { reason: incomplete } } : {}),
    completed_at: Math.floor(Date.now() / 1000),
    output: [item],
    usage: usageOf(result.usage),
    verdict: result.verdict,
  };
}
