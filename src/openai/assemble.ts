// Rebuilds chat.completion choices from a chunk stream, one choice at a time: a choice is handed over the moment its
// finish_reason arrives, so a streamed `n` call yields early finishers while slower siblings are still being written.

type Any = Record<string, any>;

export interface AssembledChoice {
  index: number;
  message: Record<string, unknown>;
  logprobs: unknown;
  finish_reason: string;
}

interface Partial {
  content: string | null;
  refusal: string | null;
  calls: { id?: string; type: string; function: { name: string; arguments: string } }[];
  tokens: unknown[] | null;
}

export interface ChunkAssembler {
  /** Feeds one parsed chunk; returns the choices it finished. */
  push(chunk: Any): AssembledChoice[];
  meta: { id: string; created: number; model: string; system_fingerprint?: string } | null;
  usage: Any | null;
}

export function createChunkAssembler(): ChunkAssembler {
  const partial = new Map<number, Partial>();
  const assembler: ChunkAssembler = {
    meta: null,
    usage: null,
    push(chunk) {
      assembler.meta ??= { id: chunk.id, created: chunk.created, model: chunk.model, system_fingerprint: chunk.system_fingerprint };
      if (chunk.usage) assembler.usage = chunk.usage;
      const finished: AssembledChoice[] = [];
      for (const choice of (chunk.choices ?? []) as Any[]) {
        const state = partial.get(choice.index) ?? { content: null, refusal: null, calls: [], tokens: null };
        partial.set(choice.index, state);
        const delta = (choice.delta ?? {}) as Any;
        if (typeof delta.content === "string") state.content = (state.content ?? "") + delta.content;
        if (typeof delta.refusal === "string") state.refusal = (state.refusal ?? "") + delta.refusal;
        for (const call of (delta.tool_calls ?? []) as Any[]) {
          // The first delta of a call carries id and name; later ones only argument text, matched by `index`.
          const slot = (state.calls[call.index ?? 0] ??= { type: "function", function: { name: "", arguments: "" } });
          if (call.id) slot.id = call.id;
          if (call.type) slot.type = call.type;
          if (call.function?.name) slot.function.name += call.function.name;
          if (call.function?.arguments) slot.function.arguments += call.function.arguments;
        }
        if (Array.isArray(choice.logprobs?.content)) state.tokens = [...(state.tokens ?? []), ...choice.logprobs.content];
        if (choice.finish_reason) {
          const message: Record<string, unknown> = { role: "assistant", content: state.content, refusal: state.refusal };
          if (state.calls.length > 0) message.tool_calls = state.calls.filter(Boolean);
          finished.push({
            index: choice.index,
            message,
            logprobs: state.tokens ? { content: state.tokens, refusal: null } : null,
            finish_reason: choice.finish_reason,
          });
          partial.delete(choice.index);
        }
      }
      return finished;
    },
  };
  return assembler;
}
