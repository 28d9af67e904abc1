// Replays a finished chat.completion as the chat.completion.chunk sequence a streaming OpenAI server would send.
// Clients assemble deltas by concatenation, so the pieces only have to join back to exactly the original message.
import { withFields } from "../util/with-fields";

interface ToolCall {
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

/** Message fields the replay streams piece by piece; any other (annotations, audio, reasoning) rides on the role chunk. */
const STREAMED_FIELDS = new Set(["role", "content", "refusal", "tool_calls"]);

interface LogprobToken {
  token: string;
}

export interface ReplayChoice {
  index: number;
  message: Record<string, unknown>;
  logprobs: unknown;
  finish_reason: string | null;
  /** Any other field (vLLM's stop_reason, Azure's content_filter_results) rides on the choice's finish chunk. */
  [field: string]: unknown;
}

export interface ReplayCompletion {
  id: string;
  created: number;
  model: string;
  choices: ReplayChoice[];
  usage: unknown;
  system_fingerprint?: string;
  verdict?: unknown;
  /** Any other field (service_tier) is on every chunk, as OpenAI streams it. */
  [field: string]: unknown;
}

/**
 * Pieces a replayed text is cut into, about at most. Each piece costs a whole chunk's envelope (id, model, choices:
 * about 300 bytes), and the replay goes out at once, so more pieces reach no client sooner: pieces of a fixed 24
 * characters made a 1 MB answer 14 MB of SSE, and as much CPU to write it.
 */
const MAX_PIECES = 32;

/** Characters per piece of a text of `length`: `smallest`, or more for a long text so that it is in MAX_PIECES. */
const pieceSize = (length: number, smallest: number) => Math.max(smallest, Math.ceil(length / MAX_PIECES));

/**
 * Splits text into pieces of about `size` characters, cutting after whitespace so words stay whole, and never between
 * the two halves of a surrogate pair (an emoji): a lone half is not valid text to clients that decode each piece.
 */
export function splitText(text: string, size = pieceSize(text.length, 48)): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > size) {
    const space = rest.lastIndexOf(" ", size);
    let cut = space > 0 ? space + 1 : size;
    const before = rest.charCodeAt(cut - 1);
    if (before >= 0xd800 && before <= 0xdbff) cut += 1;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest !== "" || pieces.length === 0) pieces.push(rest);
  return pieces;
}

/**
 * Deltas of a message's content or refusal, each with the logprobs of its own tokens (logprobs.content or
 * logprobs.refusal) when those tokens spell the text exactly.
 */
function textDeltas(field: "content" | "refusal", text: string, logprobs: unknown, carryWhole: boolean): { text: string; logprobs: unknown }[] {
  const tokens = (logprobs as Partial<Record<typeof field, LogprobToken[]>> | null)?.[field];
  if (Array.isArray(tokens) && tokens.length > 0 && tokens.map((t) => t.token).join("") === text) {
    const groups: LogprobToken[][] = [];
    for (let i = 0; i < tokens.length; i += 4) groups.push(tokens.slice(i, i + 4));
    const of = (group: LogprobToken[]) => (field === "content" ? { content: group, refusal: null } : { content: null, refusal: group });
    return groups.map((group) => ({ text: group.map((t) => t.token).join(""), logprobs: of(group) }));
  }
  // Token boundaries unknown: the whole logprobs object travels with the first piece (once per message), so
  // concatenation still works.
  return splitText(text).map((piece, i) => ({ text: piece, logprobs: i === 0 && carryWhole && logprobs ? logprobs : null }));
}

function choiceDeltas(choice: ReplayChoice): Record<string, unknown>[] {
  const { index: _index, message, logprobs: _logprobs, finish_reason: _finish, ...extra } = choice;
  const out: Record<string, unknown>[] = [];
  const delta = (d: Record<string, unknown>, logprobs: unknown = null) =>
    out.push({ index: choice.index, delta: d, logprobs, finish_reason: null });

  const content = typeof message.content === "string" ? message.content : null;
  // Content as a list of parts (Mistral's thinking and text chunks) goes whole on the role chunk, as such servers
  // stream it: only text is split into pieces.
  const parts = Array.isArray(message.content) ? message.content : null;
  const others = Object.fromEntries(Object.entries(message).filter(([name, value]) => !STREAMED_FIELDS.has(name) && value !== undefined));
  delta({ role: "assistant", content: parts ?? (content === null ? null : ""), ...(message.refusal != null ? {} : { refusal: null }), ...others });
  if (content) for (const piece of textDeltas("content", content, choice.logprobs, true)) delta({ content: piece.text }, piece.logprobs);
  if (typeof message.refusal === "string") {
    for (const piece of textDeltas("refusal", message.refusal, choice.logprobs, !content)) delta({ refusal: piece.text }, piece.logprobs);
  }

  const calls = Array.isArray(message.tool_calls) ? (message.tool_calls as ToolCall[]) : [];
  calls.forEach((call, index) => {
    // A custom tool call (or a kind not known here) goes whole in one delta: its fields are not split by any client.
    if (!call.function) return void delta({ tool_calls: [{ index, ...call }] });
    const args = call.function.arguments ?? "";
    const [first = "", ...rest] = splitText(args, pieceSize(args.length, 16));
    // The first delta of a call names it; later ones carry only argument text, as OpenAI streams them.
    delta({ tool_calls: [{ index, id: call.id, type: call.type ?? "function", function: { name: call.function.name, arguments: first } }] });
    for (const piece of rest) delta({ tool_calls: [{ index, function: { arguments: piece } }] });
  });
  out.push(withFields(extra, { index: choice.index, delta: {}, logprobs: null, finish_reason: choice.finish_reason ?? "stop" }));
  return out;
}

/**
 * Every chunk of the replay, in order: per choice a role chunk, content (or refusal, or tool-call) deltas and a finish
 * chunk; `verdict` rides on the last chunk that has choices; with `includeUsage`, a final usage chunk with no choices.
 */
export function replayChunks(completion: ReplayCompletion, includeUsage: boolean): Record<string, unknown>[] {
  const { id: _id, object: _object, created: _created, model: _model, choices: _choices, usage: _usage, system_fingerprint: _fingerprint, verdict: _verdict, ...others } = completion;
  // The completion's other fields: those OpenAI's chunks all carry on every chunk, the rest (vLLM's prompt_logprobs
  // and prompt_token_ids, kv_transfer_params) once, on the first. Copied onto every chunk, 2,000 prompt tokens'
  // logprobs made a 125 KB answer 4.4 MB of events.
  const { service_tier, ...once } = others;
  const everyChunk = service_tier === undefined ? {} : { service_tier };
  const frame = (choices: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => withFields(everyChunk, {
    id: completion.id,
    object: "chat.completion.chunk",
    created: completion.created,
    model: completion.model,
    ...(completion.system_fingerprint ? { system_fingerprint: completion.system_fingerprint } : {}),
    choices,
    ...(includeUsage ? { usage: null } : {}),
    ...extra,
  });
  const chunks = completion.choices.flatMap(choiceDeltas).map((choice, at) => frame([choice], at === 0 ? once : {}));
  const last = chunks[chunks.length - 1];
  if (last && completion.verdict !== undefined) last.verdict = completion.verdict;
  if (includeUsage) chunks.push(frame([], { usage: completion.usage }));
  return chunks;
}
