// Cache keys: SHA-256 over canonical JSON (sorted keys), so equal inputs give equal keys on Node and Workers alike.

export function canonicalJson(value: unknown): string {
  // Plain loops, scalars first: every judgment's key serialises an array of digests (src/judge/session.ts).
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  let out = "";
  if (Array.isArray(value)) {
    for (const item of value) out += `${out ? "," : ""}${canonicalJson(item)}`;
    return `[${out}]`;
  }
  const record = value as Record<string, unknown>;
  // The default sort orders by UTF-16 code units, as `<` does.
  for (const key of Object.keys(record).sort()) {
    if (record[key] !== undefined) out += `${out ? "," : ""}${JSON.stringify(key)}:${canonicalJson(record[key])}`;
  }
  return `{${out}}`;
}

/**
 * Node's synchronous one-call hash where there is one: the promise-based Web Crypto digest cost about 6% of a
 * best-of-4 request's CPU under load (one per judgment), and a createHash object per key about 1%. Workers have only
 * Web Crypto. All give the same hex digest.
 */
type Sha256Hasher = { hash(algorithm: "sha256", text: string, encoding: "hex"): string };
const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.("node:crypto") as
  | Partial<Sha256Hasher>
  | undefined;
const nodeHash = typeof nodeCrypto?.hash === "function" ? (nodeCrypto as Sha256Hasher) : undefined;

/** The key of `parts` as the rule states it: the SHA-256 of their canonical JSON (what the judgment keys are tested against). */
export async function cacheKey(parts: unknown): Promise<string> {
  return sha256Hex(canonicalJson(parts));
}

/** The hex SHA-256 of `text`: at once on Node, a promise on Workers (Web Crypto has only the promise). */
export function sha256Hex(text: string): string | Promise<string> {
  if (nodeHash) return nodeHash.hash("sha256", text, "hex");
  return crypto.subtle
    .digest("SHA-256", new TextEncoder().encode(text))
    .then((digest) => Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join(""));
}

/**
 * The canonical text of `{ ...fixed, [slot]: value }` for many values, with the fixed part serialised once: what
 * canonicalJson gives for the whole object, split around the slot. For keys whose parts mostly never change (a judge's
 * identity and template) while one part differs per key.
 */
export function keyTemplate(fixed: Record<string, unknown>, slot: string): (value: unknown) => string {
  const marker = JSON.stringify("\u0000slot\u0000");
  const whole = canonicalJson({ ...fixed, [slot]: "\u0000slot\u0000" });
  const field = `${JSON.stringify(slot)}:${marker}`;
  const at = whole.indexOf(field);
  if (at < 0 || whole.indexOf(field, at + 1) >= 0) throw new Error(`keyTemplate: cannot place "${slot}" in the key`);
  const before = whole.slice(0, at + field.length - marker.length);
  const after = whole.slice(at + field.length);
  return (value) => `${before}${canonicalJson(value)}${after}`;
}
