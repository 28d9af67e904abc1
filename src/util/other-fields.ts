// The fields of an upstream's answer that verdict neither reads nor rebuilds (service_tier, vLLM's stop_reason, Azure's
// content_filter_results): kept aside so that they come back as the generator sent them, streamed draws included.

/** The fields of `record` not in `known`, or undefined when there are none. */
export function otherFields(record: object, known: Set<string>): Record<string, unknown> | undefined {
  let extra: Record<string, unknown> | undefined;
  // for...in, not Object.entries: no pair arrays for the fields nearly every answer has and nobody keeps.
  for (const name in record) {
    const value = (record as Record<string, unknown>)[name];
    if (!known.has(name) && value !== undefined) (extra ??= {})[name] = value;
  }
  return extra;
}

const COMPLETION_FIELDS = new Set(["id", "object", "created", "model", "choices", "usage", "system_fingerprint", "verdict"]);

/** What the response reuses of a draw's completion: its id, model and such, and fields such as service_tier apart. */
export function completionMeta(completion: { id: string; created: number; model: string; system_fingerprint?: string }) {
  const extra = otherFields(completion, COMPLETION_FIELDS);
  const { id, created, model, system_fingerprint } = completion;
  return extra ? { id, created, model, system_fingerprint, extra } : { id, created, model, system_fingerprint };
}
