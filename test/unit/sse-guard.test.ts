// A relayed upstream stream cut off midway ends with an error event of the stream's own API, after its whole events.
import { describe, expect, it } from "vitest";
import { guardEvents, responsesCutOff } from "../../src/sse-guard";

const encoder = new TextEncoder();

/** Upstream reads that end in a broken connection. */
async function* cutAfter(reads: string[]): AsyncGenerator<Uint8Array> {
  for (const read of reads) yield encoder.encode(read);
  throw new Error("socket hang up");
}

async function relayed(events: AsyncIterable<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of events) text += new TextDecoder().decode(chunk);
  return text;
}

const responsesEvent = (type: string, sequence: number) => `event: ${type}\ndata: {"type":"${type}","sequence_number":${sequence}}\n\n`;

describe("guardEvents", () => {
  it("ends a cut-off Responses stream with its own error event, numbered after the last one sent", async () => {
    const reads = [responsesEvent("response.created", 0) + responsesEvent("response.in_progress", 1), 'event: response.output_text.delta\ndata: {"type":"resp'];
    const text = await relayed(guardEvents(cutAfter(reads), { cutOff: responsesCutOff }));
    const events = text.split("\n\n").filter((e) => e !== "");
    expect(events).toHaveLength(3);
    const last = events.at(-1)!;
    expect(last.startsWith("event: error\ndata: ")).toBe(true);
    expect(JSON.parse(last.slice("event: error\ndata: ".length))).toEqual({
      type: "error",
      code: "upstream_stream_truncated",
      message: "the generator upstream's stream was cut off before it finished",
      param: null,
      sequence_number: 2,
    });
  });

  it("numbers the error 0 when the Responses stream broke before any whole event", async () => {
    const text = await relayed(guardEvents(cutAfter(["event: response.cre"]), { cutOff: responsesCutOff }));
    expect(JSON.parse(text.slice("event: error\ndata: ".length))).toMatchObject({ type: "error", sequence_number: 0 });
  });

  it("ends a cut-off chat stream with chat completions' error event by default", async () => {
    const text = await relayed(guardEvents(cutAfter(['data: {"choices":[]}\n\n', 'data: {"cho'])));
    const events = text.split("\n\n").filter((e) => e !== "");
    expect(events[0]).toBe('data: {"choices":[]}');
    expect(JSON.parse(events[1]!.slice("data: ".length)).error.code).toBe("upstream_stream_truncated");
  });
});

describe("guardEvents on a stream that ends cleanly", () => {
  async function* endAfter(reads: string[]): AsyncGenerator<Uint8Array> {
    for (const read of reads) yield encoder.encode(read);
  }

  it("ends with an error event, not half an event, when the stream stops in the middle of a line", async () => {
    const text = await relayed(guardEvents(endAfter(['data: {"choices":[]}\n\n', 'data: {"id":"c","obj'])));
    const events = text.split("\n\n").filter((e) => e !== "");
    expect(events).toHaveLength(2);
    expect(text).not.toContain('"obj');
    expect(JSON.parse(events[1]!.slice("data: ".length)).error).toMatchObject({ code: "upstream_stream_truncated", message: expect.stringMatching(/middle of an event/) });
  });

  it("passes whole lines on as they came, and a stream that ends on an event boundary untouched", async () => {
    expect(await relayed(guardEvents(endAfter(['data: {"a":1}\n\n', "data: [DONE]\n"])))).toBe('data: {"a":1}\n\ndata: [DONE]\n');
    expect(await relayed(guardEvents(endAfter(['data: {"a":1}\n\n', "data: [DONE]\n\n"])))).toBe('data: {"a":1}\n\ndata: [DONE]\n\n');
  });
});

describe("a stream's silence bound", () => {
  /** Reads that each come `gapMs` after the last. */
  async function* trickle(reads: string[], gapMs: number): AsyncGenerator<Uint8Array> {
    for (const read of reads) {
      await new Promise((resolve) => setTimeout(resolve, gapMs));
      yield encoder.encode(read);
    }
  }

  it("lets a stream run as long as it likes while no gap reaches the bound", async () => {
    const reads = Array.from({ length: 8 }, (_, i) => `data: ${i}\n\n`);
    const text = await relayed(guardEvents(trickle(reads, 30), { idleMs: 80 }));
    expect(text).toBe(reads.join(""));
  });

  it("keeps the upstream's silence and the client's apart: neither is blamed for the other's time", async () => {
    // Each gap under the bound, upstream and client taking turns: 40 ms of silence, then 40 ms of the client not reading.
    const reads = Array.from({ length: 4 }, (_, i) => `data: ${i}\n\n`);
    let text = "";
    for await (const chunk of guardEvents(trickle(reads, 40), { idleMs: 60 })) {
      text += new TextDecoder().decode(chunk);
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    expect(text).toBe(reads.join(""));
  });

  it("closes the upstream's stream when the client stops reading, and says so if it reads again", async () => {
    let closed = false;
    async function* endless(): AsyncGenerator<Uint8Array> {
      try {
        for (let i = 0; ; i++) yield encoder.encode(`data: ${i}\n\n`);
      } finally {
        closed = true;
      }
    }
    const events = guardEvents(endless(), { idleMs: 60 });
    expect(new TextDecoder().decode((await events.next()).value)).toBe("data: 0\n\n");
    await new Promise((resolve) => setTimeout(resolve, 150)); // the client takes nothing for a while
    expect(closed).toBe(true); // the upstream call (and its generator slot) is let go meanwhile
    const rest = await relayed(events);
    expect(rest).toMatch(/"code":"client_stream_stalled"/);
  });

  it("still ends an upstream that stays silent while it is being read", async () => {
    const text = await relayed(guardEvents(trickle(["data: 0\n\n", "data: 1\n\n"], 200), { idleMs: 60 }));
    expect(text).toMatch(/"code":"upstream_stream_timeout"/);
  });
});

describe("events of any size and reads of any size", () => {
  async function* reads(parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
    for (const part of parts) yield part;
  }

  it("relays a stream read one byte at a time, boundaries across reads included, unchanged", async () => {
    const text = 'data: {"a":1}\n\ndata: {"b":2}\r\n\r\ndata: [DONE]\n\n';
    const bytes = encoder.encode(text);
    expect(await relayed(guardEvents(reads([...bytes].map((b) => Uint8Array.of(b)))))).toBe(text);
  });

  it("passes a large event in time that grows with its size, not its square", async () => {
    const event = encoder.encode(`data: ${"x".repeat(12 * 1024 * 1024)}\n\n`);
    const parts = Array.from({ length: Math.ceil(event.length / 16_384) }, (_, i) => event.subarray(i * 16_384, (i + 1) * 16_384));
    const started = performance.now();
    const text = await relayed(guardEvents(reads(parts)));
    expect(text.length).toBe(event.length);
    // About 770 reads: joining and searching all that was pending on each read took seconds here.
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it("ends a stream whose event grows past 16 MiB with an error event, and stops reading it", async () => {
    let read = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      yield encoder.encode("data: {}\n\n");
      const chunk = encoder.encode("x".repeat(1024 * 1024));
      for (;;) (read += 1), yield chunk;
    }
    const text = await relayed(guardEvents(endless()));
    const events = text.split("\n\n").filter((e) => e !== "");
    expect(events[0]).toBe("data: {}");
    expect(JSON.parse(events.at(-1)!.slice("data: ".length)).error.code).toBe("upstream_event_too_large");
    expect(read).toBeLessThan(20);
  });

  it("takes a last 'data: [DONE]' without its line end for the end it says, as the SDKs do", async () => {
    const text = await relayed(guardEvents(reads([encoder.encode('data: {"a":1}\n\ndata: [DONE]')])));
    expect(text).toBe('data: {"a":1}\n\ndata: [DONE]\n\n');
    const cut = await relayed(guardEvents(reads([encoder.encode('data: {"a":1}\n\ndata: {"b"')])));
    expect(cut).toMatch(/upstream_stream_truncated/);
  });
});
