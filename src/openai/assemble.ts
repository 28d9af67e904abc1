// Rebuilds chat.completion choices from a chunk stream, one choice at a time: a choice is handed over the moment its
// finish_reason arrives, so a streamed `n` call yields early finishers while slower siblings are still being written.

import { otherFields } from "../util/other-fields";
import { withFields } from "../util/with-fields";

type Any = Record<string, any>;

export interface AssembledChoice {
  index: number;
  message: Record<string, unknown>;
  logprobs: unknown;
  finish_reason: string;
  /** Anything else a choice carried (vLLM's stop_reason, Azure's content_filter_results), as its chunks last said. */
  [other: string]: unknown;
}

interface Partial {
  content: string | null;
  refusal: string | null;
  calls: { id?: string; type: string; function?: { name: string; arguments: string } }[];
  /** The logprobs of content tokens and of refusal tokens, as they came. */
  tokens: unknown[] | null;
  refusalTokens: unknown[] | null;
  /** Any other message field (reasoning_content, annotations...): text pieces are joined, anything else replaced. */
  others: Record<string, unknown>;
  /** The choice's own fields beyond index, delta, logprobs and finish_reason. */
  extras: Record<string, unknown> | undefined;
}

const DELTA_FIELDS = new Set(["role", "content", "refusal", "tool_calls"]);
const CHUNK_CHOICE_FIELDS = new Set(["index", "delta", "logprobs", "finish_reason"]);
/** A chunk's fields that the completion is built from, or that belong to the stream alone (OpenAI's padding). */
const CHUNK_FIELDS = new Set(["id", "object", "created", "model", "system_fingerprint", "choices", "usage", "obfuscation"]);

/** More tool calls in one choice than any model makes: an index past it is a malformed chunk, not a slot to make. */
export const MAX_TOOL_CALLS = 1024;

/** A chunk that cannot be part of a well-formed stream. */
export class MalformedChunk extends Error {}

/** The slot a tool-call delta's `index` names: a whole number below MAX_TOOL_CALLS (absent means the first). */
function callSlot(index: unknown): number {
  if (index === undefined || index === null) return 0;
  if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= MAX_TOOL_CALLS) throw new MalformedChunk(`tool call index ${JSON.stringify(index)}`);
  return index;
}

/** A key that would reach an object's prototype instead of being a field of it: never copied from an upstream. */
const UNSAFE_KEY = "__proto__";

/** Parts that name something rather than continue it: set, never joined (function_call.name, audio.id). */
const NAMING_KEYS = new Set(["id", "name", "expires_at"]);

/**
 * A message field after one more delta, as the SDKs accumulate them: text pieces join, an object (audio, a legacy
 * function_call) merges key by key the same way, and a null never erases what came before it.
 */
function merged(before: unknown, piece: unknown, key = ""): unknown {
  if (piece === null || piece === undefined) return before;
  if (typeof piece === "string") return typeof before === "string" && !NAMING_KEYS.has(key) ? before + piece : piece;
  if (typeof piece !== "object" || Array.isArray(piece) || typeof before !== "object" || before === null || Array.isArray(before)) return piece;
  // A copy by withFields, not `{ ...before }`: a spread copy that then gains fields gets a hidden class of its own.
  const out: Record<string, unknown> = withFields(before as Record<string, unknown>, {});
  for (const [name, value] of Object.entries(piece)) if (name !== UNSAFE_KEY) out[name] = merged(out[name], value, name);
  return out;
}

export interface ChunkAssembler {
  /** Feeds one parsed chunk; returns the choices it finished. */
  push(chunk: Any): AssembledChoice[];
  meta: { id: string; created: number; model: string; system_fingerprint?: string; extra?: Record<string, unknown> } | null;
  usage: Any | null;
}

export function createChunkAssembler(): ChunkAssembler {
  const partial = new Map<number, Partial>();
  // A choice is handed over once: a server that repeats a finish chunk must not start an empty one in its place.
  const done = new Set<number>();
  const assembler: ChunkAssembler = {
    meta: null,
    usage: null,
    push(chunk) {
      if (assembler.meta === null) {
        const extra = otherFields(chunk, CHUNK_FIELDS);
        const { id, created, model, system_fingerprint } = chunk;
        assembler.meta = extra ? { id, created, model, system_fingerprint, extra } : { id, created, model, system_fingerprint };
      }
      if (chunk.usage) assembler.usage = chunk.usage;
      const finished: AssembledChoice[] = [];
      for (const choice of (chunk.choices ?? []) as Any[]) {
        if (done.has(choice.index)) continue;
        const state = partial.get(choice.index) ?? { content: null, refusal: null, calls: [], tokens: null, refusalTokens: null, others: {}, extras: undefined };
        partial.set(choice.index, state);
        const extras = otherFields(choice, CHUNK_CHOICE_FIELDS);
        if (extras) state.extras = withFields(state.extras ?? {}, extras);
        const delta = (choice.delta ?? {}) as Any;
        if (typeof delta.content === "string") state.content = (state.content ?? "") + delta.content;
        if (typeof delta.refusal === "string") state.refusal = (state.refusal ?? "") + delta.refusal;
        for (const [name, value] of Object.entries(delta)) {
          if (!DELTA_FIELDS.has(name) && name !== UNSAFE_KEY) state.others[name] = merged(state.others[name], value);
        }
        for (const { index, id, type, function: fn, ...rest } of (delta.tool_calls ?? []) as Any[]) {
          // The first delta of a call carries id and name; later ones only argument text, matched by `index`. The name
          // is set, not joined: some servers repeat it in every delta (the SDKs read it the same way). Other kinds of
          // call (custom) keep their own fields.
          // The index is the upstream's: checked before it picks a slot, and no key of `rest` reaches a prototype.
          const slot = (state.calls[callSlot(index)] ??= { type: "function" });
          for (const [name, value] of Object.entries(rest)) if (name !== UNSAFE_KEY) (slot as Record<string, unknown>)[name] = value;
          if (id) slot.id = id;
          if (type) slot.type = type;
          if (fn) slot.function ??= { name: "", arguments: "" };
          if (fn?.name) slot.function!.name = fn.name;
          if (fn?.arguments) slot.function!.arguments += fn.arguments;
        }
        if (Array.isArray(choice.logprobs?.content)) (state.tokens ??= []).push(...choice.logprobs.content);
        if (Array.isArray(choice.logprobs?.refusal)) (state.refusalTokens ??= []).push(...choice.logprobs.refusal);
        if (choice.finish_reason) {
          const calls = state.calls.filter(Boolean);
          // A role chunk's "" is no content at all when the answer is only tool calls or a refusal (null, as unstreamed).
          const content = state.content === "" && (calls.length > 0 || state.refusal !== null) ? null : state.content;
          const message: Record<string, unknown> = withFields(state.others ?? {}, { role: "assistant", content, refusal: state.refusal });
          if (calls.length > 0) message.tool_calls = calls;
          const logprobs = state.tokens || state.refusalTokens ? { content: state.tokens, refusal: state.refusalTokens } : null;
          const assembled = { index: choice.index, message, logprobs, finish_reason: choice.finish_reason };
          finished.push(state.extras ? withFields(state.extras, assembled) : assembled);
          partial.delete(choice.index);
          done.add(choice.index);
        }
      }
      return finished;
    },
  };
  return assembler;
}
