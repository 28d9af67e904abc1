// Cache keys: SHA-256 over canonical JSON (sorted keys), so equal inputs give equal keys on Node and Workers alike.

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * Node's synchronous hash where there is one: the promise-based Web Crypto digest cost about 6% of a best-of-4
 * request's CPU under load (one per judgment). Workers have only Web Crypto. Both give the same hex digest.
 */
type Sha256Hasher = { createHash(algorithm: "sha256"): { update(text: string): { digest(encoding: "hex"): string } } };
const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.("node:crypto") as
  | Sha256Hasher
  | undefined;

export async function cacheKey(parts: unknown): Promise<string> {
  const text = canonicalJson(parts);
  if (nodeCrypto) return nodeCrypto.createHash("sha256").update(text).digest("hex");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
