// Text to UTF-8 bytes, for request bodies sent as bytes (src/chat-call.ts says why bytes).
//
// On Node, Buffer.from: a short text is copied into a shared pool instead of an ArrayBuffer of its own, and undici sends
// a Buffer as it is, where it first wraps a plain Uint8Array in one. About 3 µs less per upstream call than
// TextEncoder. Workers have no Buffer (wrangler.toml runs them without nodejs_compat), so TextEncoder there.
const encoder = new TextEncoder();
const NodeBuffer = (globalThis as { Buffer?: { from(text: string, encoding: "utf8"): Uint8Array } }).Buffer;

export const utf8Bytes: (text: string) => Uint8Array = NodeBuffer ? (text) => NodeBuffer.from(text, "utf8") : (text) => encoder.encode(text);
