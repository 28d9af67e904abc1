// A pass-through stream holds its generator slot until it ends in any of its ways (src/stream-slot.ts); a whole answer
// gives it back at once. Each case checks the one slot is taken while the stream runs and free after its ending.
import { describe, expect, it } from "vitest";
import type { ExchangeReply } from "../../src/exchange";
import { holdingSlotUntilBodyEnds } from "../../src/stream-slot";
import { abortWatchers } from "../../src/util/abort-watch";
import { createCallSlots } from "../../src/util/call-slots";

/** A body of one chunk that then waits until `finish` or `fail` (or its return()) ends it. */
function pendingBody() {
  let finish!: () => void;
  let fail!: (err: Error) => void;
  const rest = new Promise<void>((resolve, reject) => ((finish = resolve), (fail = reject)));
  let sent = false;
  let returned = false;
  const body: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        if (!sent) return (sent = true), { done: false as const, value: new Uint8Array([100]) };
        await rest;
        return { done: true as const, value: undefined };
      },
      return: async () => ((returned = true), { done: true as const, value: undefined }),
    }),
  };
  return { body, finish, fail, returned: () => returned };
}

function setUp(reply: (body: AsyncIterable<Uint8Array>) => ExchangeReply = (body) => ({ status: 200, headers: {}, body })) {
  const slots = createCallSlots(1);
  const stream = pendingBody();
  const exchange = holdingSlotUntilBodyEnds((call, signal) => slots.run(call, signal), async () => reply(stream.body));
  return { slots, stream, exchange };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("a pass-through stream's generator slot", () => {
  it("is held after the headers and given back when the stream runs out", async () => {
    const { slots, stream, exchange } = setUp();
    const reply = await exchange({ url: "u", method: "POST", headers: {} });
    const chunks = (reply.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    expect(await chunks.next()).toEqual({ done: false, value: new Uint8Array([100]) });
    expect(slots.running).toBe(1);
    const last = chunks.next();
    stream.finish();
    expect((await last).done).toBe(true);
    await tick();
    expect(slots.running).toBe(0);
  });

  it("is given back when the stream fails", async () => {
    const { slots, stream, exchange } = setUp();
    const chunks = ((await exchange({ url: "u", method: "POST", headers: {} })).body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    await chunks.next();
    const broken = chunks.next();
    stream.fail(new Error("connection reset"));
    await expect(broken).rejects.toThrow("connection reset");
    await tick();
    expect(slots.running).toBe(0);
  });

  it("is given back when the reader stops before its first read, and the upstream's stream is ended", async () => {
    const { slots, stream, exchange } = setUp();
    const reply = await exchange({ url: "u", method: "POST", headers: {} });
    expect(slots.running).toBe(1);
    await (reply.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]().return!();
    await tick();
    expect(slots.running).toBe(0);
    expect(stream.returned()).toBe(true);
  });

  it("is given back when the client leaves, read or not, and leaves no abort callback behind", async () => {
    const { slots, exchange } = setUp();
    const client = new AbortController();
    await exchange({ url: "u", method: "POST", headers: {}, signal: client.signal });
    expect(slots.running).toBe(1);
    client.abort();
    await tick();
    expect(slots.running).toBe(0);
    expect(abortWatchers(client.signal)).toBe(0);
  });

  it("takes back its abort callback when the stream ends first", async () => {
    const { stream, exchange } = setUp();
    const client = new AbortController();
    const chunks = ((await exchange({ url: "u", method: "POST", headers: {}, signal: client.signal })).body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    expect(abortWatchers(client.signal)).toBe(1);
    await chunks.next();
    stream.finish();
    await chunks.next();
    expect(abortWatchers(client.signal)).toBe(0);
  });

  it("is given back at once for a whole answer", async () => {
    const { slots, exchange } = setUp(() => ({ status: 200, headers: {}, body: new Uint8Array([123, 125]) }));
    const reply = await exchange({ url: "u", method: "POST", headers: {} });
    expect(reply.body).toEqual(new Uint8Array([123, 125]));
    await tick();
    expect(slots.running).toBe(0);
  });

  it("is given back when the exchange fails, which the caller sees", async () => {
    const slots = createCallSlots(1);
    const exchange = holdingSlotUntilBodyEnds((call, signal) => slots.run(call, signal), async () => {
      throw new Error("refused");
    });
    await expect(exchange({ url: "u", method: "POST", headers: {} })).rejects.toThrow("refused");
    expect(slots.running).toBe(0);
  });
});
