// Replaces secrets in a body that arrives in chunks, without decoding it. A secret may be split between two chunks, so
// a chunk's last bytes are held back while they could still be the start of one. An SSE event ends in a blank line,
// which no secret starts with (they hold no whitespace), so in practice nothing is held: each chunk goes on whole, as
// soon as it comes.
import { iteratorOf } from "./body-chunks";

/** Node's Buffer, where there is one, for a native byte search (Workers use the loop below). */
type ByteSearch = { from(buffer: ArrayBufferLike, offset: number, length: number): { indexOf(needle: Uint8Array, from: number): number } };
const NodeBuffer = (globalThis as { Buffer?: ByteSearch }).Buffer;

/** The search where there is no Buffer (Workers). */
export function searchLoop(bytes: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  const last = bytes.length - needle.length;
  outer: for (let i = from; i <= last; i++) {
    if (bytes[i] !== first) continue;
    for (let j = 1; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** A search over `bytes` for one needle after another. */
function searcher(bytes: Uint8Array): (needle: Uint8Array, from: number) => number {
  if (!NodeBuffer) return (needle, from) => searchLoop(bytes, needle, from);
  const buffer = NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return (needle, from) => buffer.indexOf(needle, from);
}

export interface ByteScrubber {
  /** What can go on of `chunk` now, secrets replaced; the rest waits for the next chunk. */
  push(chunk: Uint8Array): Uint8Array;
  /** What was held back, secrets replaced: the body has ended. */
  end(): Uint8Array;
  /** A body that came whole, secrets replaced; itself when it holds none. */
  whole(body: Uint8Array): Uint8Array;
}

const EMPTY = new Uint8Array(0);

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) out.set(part, at), (at += part.length);
  return out;
}

/** Needles (non-empty) replaced by `replacement`; where two start at one place, the longest wins. */
export function createByteScrubber(needles: Uint8Array[], replacement: Uint8Array): ByteScrubber {
  const longest = Math.max(...needles.map((needle) => needle.length));
  let held = EMPTY;
  // The bytes a secret can start with: a chunk's tail is looked at only from those.
  const starts = new Uint8Array(256);
  for (const needle of needles) starts[needle[0]!] = 1;

  /** True when `needle` agrees with `bytes` from `at` for as far as both go: a match, or one the next chunk may finish. */
  const mayStartAt = (bytes: Uint8Array, at: number) =>
    needles.some((needle) => {
      const shared = Math.min(needle.length, bytes.length - at);
      for (let j = 0; j < shared; j++) if (bytes[at + j] !== needle[j]) return false;
      return true;
    });

  /** The first place at or after `from`, in the last `longest - 1` bytes, from which more bytes could still make a secret. */
  const holdFrom = (bytes: Uint8Array, from: number) => {
    for (let at = Math.max(from, bytes.length - longest + 1); at < bytes.length; at++) {
      if (starts[bytes[at]!] === 1 && mayStartAt(bytes, at)) return at;
    }
    return bytes.length;
  };

  /** The first match at or after `from`: its place and length, the longest of those that start there. */
  const nextMatch = (search: ReturnType<typeof searcher>, from: number): [number, number] | null => {
    let found: [number, number] | null = null;
    for (const needle of needles) {
      const at = search(needle, from);
      if (at >= 0 && (found === null || at < found[0] || (at === found[0] && needle.length > found[1]))) found = [at, needle.length];
    }
    return found;
  };

  /** Replaces every match that starts before the hold (none at all when `ended`), and keeps the held bytes. */
  const scrub = (bytes: Uint8Array, ended: boolean): Uint8Array => {
    const out: Uint8Array[] = [];
    const search = searcher(bytes);
    let done = 0;
    for (;;) {
      const hold = ended ? bytes.length : holdFrom(bytes, done);
      const match = nextMatch(search, done);
      if (match === null || match[0] >= hold) {
        if (done === 0 && hold === bytes.length) return (held = EMPTY), bytes; // the usual case: nothing found or held
        out.push(bytes.subarray(done, hold));
        // A copy: a view would keep the whole chunk alive for a few bytes.
        held = hold < bytes.length ? bytes.slice(hold) : EMPTY;
        return concat(out);
      }
      out.push(bytes.subarray(done, match[0]), replacement);
      done = match[0] + match[1];
    }
  };

  return {
    push: (chunk) => scrub(held.length === 0 ? chunk : concat([held, chunk]), false),
    end: () => scrub(held, true),
    whole: (body) => scrub(body, true),
  };
}

/** `chunks` with secrets replaced as they go by; ending it early ends `chunks` at once, as its own return() does. */
export function scrubbedChunks(chunks: AsyncIterable<Uint8Array>, scrubber: ByteScrubber): AsyncIterableIterator<Uint8Array> {
  const source = chunks[Symbol.asyncIterator]();
  let ended = false;
  const next = async (): Promise<IteratorResult<Uint8Array>> => {
    for (;;) {
      if (ended) return { done: true, value: undefined };
      const read = await source.next();
      if (read.done) {
        ended = true;
        const rest = scrubber.end();
        if (rest.length > 0) return { done: false, value: rest };
        continue;
      }
      const clean = scrubber.push(read.value);
      if (clean.length > 0) return { done: false, value: clean };
    }
  };
  return iteratorOf(next, async () => {
    ended = true;
    await source.return?.();
  });
}
