// A buffered Response reads like any other: text, JSON, exact bytes (not the pool a Node Buffer may sit in), its URL.
import { describe, expect, it } from "vitest";
import { bodyBytes, bufferedResponse } from "../../src/util/buffered-response";

describe("bufferedResponse", () => {
  it("answers text, json, arrayBuffer and url from the bytes it was made from", async () => {
    const pooled = Buffer.from('{"answer":42}'); // small Buffers share one larger ArrayBuffer
    const response = bufferedResponse(pooled, { status: 201, headers: { "content-type": "application/json" } }, "http://u/x");
    expect(response.status).toBe(201);
    expect(response.url).toBe("http://u/x");
    expect(await response.text()).toBe('{"answer":42}');
    expect(await response.json()).toEqual({ answer: 42 });
    const buffer = await response.arrayBuffer();
    expect(buffer.byteLength).toBe(pooled.byteLength);
    expect(new TextDecoder().decode(buffer)).toBe('{"answer":42}');
    expect(await bodyBytes(response)).toBe(pooled);
  });

  it("reads an ordinary Response's body through its stream", async () => {
    expect(new TextDecoder().decode(await bodyBytes(new Response("plain")))).toBe("plain");
  });
});
