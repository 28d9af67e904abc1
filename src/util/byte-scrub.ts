// Replaces secrets in a body that arrives in chunks, without decoding it. A secret may be split between two chunks, so
// a chunk's last bytes are held back while they could still be the start of one. An SSE event ends in a blank line,
// which no secret starts with (they hold no whitespace), so in practice nothing is held: each chunk goes on whole, as
// soon as it comes.
import { iteratorOf } from "./body-chunks";
import { joinBytes } from "./join-bytes";

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

/** Where `needle` is in `bytes` from `from` on, or -1; `buffer` is `bytes` as a Buffer on Node. */
function find(bytes: Uint8Array, buffer: { indexOf(needle: Uint8Array, from: number): number } | null, needle: Uint8Array, from: number): number {
  return buffer ? buffer.indexOf(needle, from) : searchLoop(bytes, needle, from);
}

export interface ByteScrubber {
  /** What can go on of `chunk` now, secrets replaced; the rest waits for the next chunk. */
  push(chunk: Uint8Array): Uint8Array;
  /** What was held back, secrets replaced: the body has ended. */
  end(): Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * Secrets as bytes (none empty), each replaced by `replacement`, or with `sameLength` by as many bytes: `replacement`
 * cut or filled out with `*`, so that a body's stated length still holds. Where two start at one place, the longest
 * wins.
 */
export class SecretBytes {
  private readonly longest: number;
  /** The bytes a secret can start with: a chunk's tail is looked at only from those. */
  private readonly starts = new Uint8Array(256);
  private readonly replacements: Uint8Array[];

  constructor(private readonly needles: Uint8Array[], replacement: Uint8Array, sameLength = false) {
    this.longest = Math.max(...needles.map((needle) => needle.length));
    for (const needle of needles) this.starts[needle[0]!] = 1;
    const filled = (length: number) => Uint8Array.from({ length }, (_, i) => (i < replacement.length ? replacement[i]! : 0x2a));
    this.replacements = needles.map((needle) => (sameLength ? filled(needle.length) : replacement));
  }

  /** A body that came whole, secrets replaced; the very same bytes when it holds none. */
  whole(body: Uint8Array): Uint8Array {
    return this.scrub(body, true)[0];
  }

  /** A scrubber for one body that comes in chunks. */
  scrubber(): ByteScrubber {
    let held: Uint8Array = EMPTY;
    const scrubbed = ([out, rest]: [Uint8Array, Uint8Array]) => ((held = rest), out);
    return {
      push: (chunk) => scrubbed(this.scrub(held.length === 0 ? chunk : joinBytes([held, chunk]), false)),
      end: () => scrubbed(this.scrub(held, true)),
    };
  }

  /** True when a secret agrees with `bytes` from `at` for as far as both go: a match, or one more bytes may finish. */
  private mayStartAt(bytes: Uint8Array, at: number): boolean {
    return this.needles.some((needle) => {
      const shared = Math.min(needle.length, bytes.length - at);
      for (let j = 0; j < shared; j++) if (bytes[at + j] !== needle[j]) return false;
      return true;
    });
  }

  /** The first place at or after `from`, in the last `longest - 1` bytes, from which more bytes could make a secret. */
  private holdFrom(bytes: Uint8Array, from: number): number {
    for (let at = Math.max(from, bytes.length - this.longest + 1); at < bytes.length; at++) {
      if (this.starts[bytes[at]!] === 1 && this.mayStartAt(bytes, at)) return at;
    }
    return bytes.length;
  }

  /**
   * Replaces every match that starts before the hold (there is none when the body has `ended`): what can go on, and
   * the bytes held back. A match never starts in the hold, where a longer secret could still begin at its place.
   */
  private scrub(bytes: Uint8Array, ended: boolean): [Uint8Array, Uint8Array] {
    const buffer = NodeBuffer ? NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null;
    const out: Uint8Array[] = [];
    let done = 0;
    for (;;) {
      const hold = ended ? bytes.length : this.holdFrom(bytes, done);
      let at = -1;
      let length = 0;
      let which = 0;
      for (const [index, needle] of this.needles.entries()) {
        const found = find(bytes, buffer, needle, done);
        if (found >= 0 && (at < 0 || found < at || (found === at && needle.length > length))) (at = found), (length = needle.length), (which = index);
      }
      if (at < 0 || at >= hold) {
        if (done === 0 && hold === bytes.length) return [bytes, EMPTY]; // the usual case: nothing found or held
        out.push(bytes.subarray(done, hold));
        // A copy: a view would keep the whole chunk alive for a few bytes.
        return [joinBytes(out), hold < bytes.length ? bytes.slice(hold) : EMPTY];
      }
      out.push(bytes.subarray(done, at), this.replacements[which]!);
      done = at + length;
    }
  }
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
