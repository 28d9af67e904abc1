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

export function createSSEDecoder(): SSEDecoder {
  const text = new TextDecoder("utf-8");
  let buffer = "";
  let data: string[] = [];
  let event = "";
  let id: string | undefined;
  /** A chunk that ended in "\r" may be the first half of "\r\n"; the next chunk decides. */
  let pendingCR = false;

  const field = (line: string, out: SSEEvent[]): void => {
    if (line === "") {
      if (data.length > 0) out.push({ event: event || "message", data: data.join("\n"), ...(id !== undefined ? { id } : {}) });
      data = [];
      event = "";
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "data") data.push(value);
    else if (name === "event") event = value;
    else if (name === "id" && !value.includes("\0")) id = value;
  };

  const lines = (out: SSEEvent[]): void => {
    for (;;) {
      const match = /\r\n|\r|\n/.exec(buffer);
      if (!match) return;
      // A lone "\r" at the very end might still become "\r\n": wait for more input.
      if (match[0] === "\r" && match.index === buffer.length - 1) {
        pendingCR = true;
        return;
      }
      field(buffer.slice(0, match.index), out);
      buffer = buffer.slice(match.index + match[0].length);
    }
  };

  return {
    push(chunk) {
      const out: SSEEvent[] = [];
      let next = typeof chunk === "string" ? chunk : text.decode(chunk, { stream: true });
      if (pendingCR && next !== "") {
        pendingCR = false;
        // The held "\r" is still at the end of the buffer; a following "\n" belongs to it.
        if (next.startsWith("\n")) next = next.slice(1);
        field(buffer.slice(0, -1), out);
        buffer = "";
      }
      buffer += next;
      lines(out);
      return out;
    },
    end() {
      const out: SSEEvent[] = [];
      buffer += text.decode();
      if (pendingCR) {
        pendingCR = false;
        field(buffer.slice(0, -1), out);
        buffer = "";
      }
      lines(out);
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
