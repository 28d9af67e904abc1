// Server-sent events, both ways: an encoder for what verdict writes and an incremental decoder for what it reads.
// The decoder follows the WHATWG event-stream rules, so bytes may be split anywhere (mid-line, mid-UTF-8 character).

export interface SSEEvent {
  /** The `event:` field; "message" when the stream names none. */
  event: string;
  /** Every `data:` line of the event, joined with "\n". */
  data: string;
  id?: string;
}

const encoder = new TextEncoder();

/** One event: `event:` when named, one `data:` line per line of data (a newline inside data must not end the event). */
export function encodeEvent(data: unknown, event?: string): string {
  const text = typeof data === "string" ? data : JSON.stringify(data);
  const lines = text.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`);
  return `${event ? `event: ${event}\n` : ""}${lines.join("")}\n`;
}

/** A comment line: ignored by every SSE client, but it keeps proxies and idle timers from closing a quiet stream. */
export function encodeComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, " ")}\n\n`;
}

export const encodeBytes = (text: string): Uint8Array => encoder.encode(text);

export interface SSEDecoder {
  /** Feeds bytes (or already-decoded text); returns the events completed by them. */
  push(chunk: Uint8Array | string): SSEEvent[];
  /** The input ended: an event without its closing blank line is dropped, as the spec says. */
  end(): SSEEvent[];
}

/** An event this large is no chat chunk: reading on would only buffer it (the pass-through's bound is the same). */
export const MAX_SSE_EVENT_CHARS = 16 * 1024 * 1024;

export class SSEEventTooLarge extends Error {
  constructor() {
    super(`an event of the stream is larger than ${MAX_SSE_EVENT_CHARS / 1024 / 1024} MiB`);
  }
}

const LINE_END = /\r\n|\r|\n/g;

export function createSSEDecoder(maxEventChars = MAX_SSE_EVENT_CHARS): SSEDecoder {
  const text = new TextDecoder("utf-8");
  // The line not yet ended, in the pieces it came in: each input is searched for line ends once, and a long line is
  // joined once when it ends (searching and joining everything pending on every input grew with the square of a line).
  let partial: string[] = [];
  let partialChars = 0;
  let data: string[] = [];
  let dataChars = 0;
  let event = "";
  let id: string | undefined;
  /** The last input ended in "\r", which ended its line: a "\n" opening the next input belongs to it. */
  let skipLF = false;

  const field = (line: string, out: SSEEvent[]): void => {
    if (line === "") {
      if (data.length > 0) out.push({ event: event || "message", data: data.join("\n"), ...(id !== undefined ? { id } : {}) });
      data = [];
      dataChars = 0;
      event = "";
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "data") {
      data.push(value);
      dataChars += value.length;
    } else if (name === "event") event = value;
    else if (name === "id" && !value.includes("\0")) id = value;
  };

  const feed = (input: string, out: SSEEvent[]): void => {
    let start = 0;
    if (skipLF && input.startsWith("\n")) start = 1;
    skipLF = false;
    LINE_END.lastIndex = start;
    for (let match = LINE_END.exec(input); match !== null; match = LINE_END.exec(input)) {
      const piece = input.slice(start, match.index);
      const line = partial.length === 0 ? piece : partial.join("") + piece;
      partial = [];
      partialChars = 0;
      field(line, out);
      start = match.index + match[0].length;
      if (match[0] === "\r" && start === input.length) skipLF = true;
    }
    if (start < input.length) {
      partial.push(input.slice(start));
      partialChars += input.length - start;
    }
    if (partialChars + dataChars > maxEventChars) throw new SSEEventTooLarge();
  };

  return {
    push(chunk) {
      const out: SSEEvent[] = [];
      feed(typeof chunk === "string" ? chunk : text.decode(chunk, { stream: true }), out);
      return out;
    },
    end() {
      const out: SSEEvent[] = [];
      feed(text.decode(), out);
      return out;
    },
  };
}

/** Reads a byte stream as SSE events, in order. */
export async function* readSSE(body: ReadableStream<Uint8Array>): AsyncGenerator<SSEEvent> {
  const decoder = createSSEDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* decoder.push(value);
    }
    yield* decoder.end();
  } finally {
    reader.releaseLock();
  }
}
