// The SSE decoder must give the same events however the bytes are cut: mid-line, mid-"\r\n", mid-UTF-8 character.
import { describe, expect, it } from "vitest";
import { createSSEDecoder, encodeComment, encodeEvent, readSSE, SSEEventTooLarge, type SSEEvent } from "../../src/openai/sse";

const bytes = (text: string) => new TextEncoder().encode(text);

function decodeInPieces(input: Uint8Array, cuts: number[]): SSEEvent[] {
  const decoder = createSSEDecoder();
  const events: SSEEvent[] = [];
  let from = 0;
  for (const cut of [...cuts, input.length]) {
    events.push(...decoder.push(input.slice(from, cut)));
    from = cut;
  }
  return [...events, ...decoder.end()];
}

// One event that exercises every rule: a comment, a named event, CRLF and CR line ends, two data lines, a non-ASCII
// character (three UTF-8 bytes) and a field with no space after the colon.
const EVENT = ': keep-alive\r\nevent: response.output_text.delta\r\ndata: {"delta":"h\u00e9llo \u2014 w\u00f6rld"}\rdata:second\nid: 7\n\n';
const EXPECTED: SSEEvent = { event: "response.output_text.delta", data: '{"delta":"héllo — wörld"}\nsecond', id: "7" };

describe("SSE decoder", () => {
  it("decodes the event whole", () => {
    expect(decodeInPieces(bytes(EVENT), [])).toEqual([EXPECTED]);
  });

  it("gives the same event when the bytes are split at every single boundary", () => {
    const input = bytes(EVENT);
    for (let cut = 1; cut < input.length; cut++) {
      expect(decodeInPieces(input, [cut]), `split at byte ${cut}`).toEqual([EXPECTED]);
    }
  });

  it("gives the same event fed one byte at a time, twice in a row", () => {
    const input = bytes(EVENT + EVENT);
    const everyByte = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
    expect(decodeInPieces(input, everyByte)).toEqual([EXPECTED, EXPECTED]);
  });

  it("ends an event at a blank line made of a lone CR, even when the CR is the last byte of a chunk", () => {
    const input = bytes("data: a\r\rdata: b\r\r");
    expect(decodeInPieces(input, [8, 9]).map((e) => e.data)).toEqual(["a", "b"]);
  });

  it("reads a large event in time that grows with its size, not its square", () => {
    const event = bytes(`data: ${"x".repeat(12 * 1024 * 1024)}\n\n`);
    const cuts = Array.from({ length: Math.floor(event.length / 65_536) }, (_, i) => (i + 1) * 65_536);
    const started = performance.now();
    const [decoded] = decodeInPieces(event, cuts);
    expect(decoded!.data.length).toBe(12 * 1024 * 1024);
    // About 190 reads: searching and joining all that was pending on each read took seconds here.
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it("refuses an event larger than its bound, in one line or in many", () => {
    const decoder = createSSEDecoder(1_000);
    expect(() => decoder.push(`data: ${"x".repeat(600)}`)).not.toThrow();
    expect(() => decoder.push("y".repeat(600))).toThrow(SSEEventTooLarge);
    const lines = createSSEDecoder(1_000);
    expect(() => lines.push(`data: ${"x".repeat(400)}\ndata: ${"x".repeat(400)}\ndata: ${"x".repeat(400)}\n`)).toThrow(SSEEventTooLarge);
  });

  it("drops an event whose blank line never came, and ignores comment-only blocks", () => {
    expect(decodeInPieces(bytes(": ping\n\ndata: cut off"), [])).toEqual([]);
  });

  it("round-trips what the encoder writes, including data with newlines", async () => {
    const text = encodeComment("keep\nalive") + encodeEvent({ a: 1 }) + encodeEvent("line 1\nline 2", "note") + encodeEvent("[DONE]");
    expect(encodeComment("keep\nalive")).toBe(": keep alive\n\n");
    const chunks = [...bytes(text)].map((b) => new Uint8Array([b]));
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        chunks.forEach((chunk) => c.enqueue(chunk));
        c.close();
      },
    });
    const events: SSEEvent[] = [];
    for await (const event of readSSE(body)) events.push(event);
    expect(events).toEqual([
      { event: "message", data: '{"a":1}' },
      { event: "note", data: "line 1\nline 2" },
      { event: "message", data: "[DONE]" },
    ]);
  });
});
