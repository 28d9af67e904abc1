// The judgment cache interface: settled JSON values by key. Backends: memory (default), Redis, Workers KV.

export interface JudgmentCache {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

/** A cache that never hits: used when caching is off. */
export const noCache: JudgmentCache = {
  get: async () => undefined,
  set: async () => undefined,
};
