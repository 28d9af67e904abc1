// A body read either through its Response or straight from the chunks the fetch kept (src/util/body-chunks.ts).
import { describe, expect, it } from "vitest";
import { bodyChunks, chunkStream, keepChunkSource, readerChunks } from "../../src/util/body-chunks";

const text = (chunk: Uint8Array) => new TextDecoder().decode(chunk);

async function* numbered(count: number, ended: { value: boolean }): AsyncGenerator<Uint8Array> {
  try {
    for (let i = 0; i < count; i++) yield new TextEncoder().encode(`chunk ${i};`);
  } finally {
    ended.value = true;
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>, limit = Infinity): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of chunks) {
    out.push(text(chunk));
    if (out.length >= limit) break;
  }
  return out;
}

describe("body chunks", () => {
  it("hands each chunk to exactly one reader when a Response's body and its kept source are both read", async () => {
    const source = numbered(4, { value: false });
    const response = keepChunkSource(new Response(chunkStream(source)), source);
    const reader = response.body!.getReader();
    const first = await reader.read(); // through the web stream
    reader.releaseLock();
    const rest = await collect(bodyChunks(response)!); // then straight from the source
    expect([text(first.value!), ...rest]).toEqual(["chunk 0;", "chunk 1;", "chunk 2;", "chunk 3;"]);
  });

  it("takes nothing from the source until its web stream is read", async () => {
    const source = numbered(2, { value: false });
    const response = keepChunkSource(new Response(chunkStream(source)), source);
    await new Promise((resolve) => setTimeout(resolve, 10)); // a stream that read ahead would have pulled by now
    expect(await collect(bodyChunks(response)!)).toEqual(["chunk 0;", "chunk 1;"]);
  });

  it("ends the source when a reader stops early, through either path", async () => {
    const viaSource = { value: false };
    const kept = numbered(10, viaSource);
    await collect(bodyChunks(keepChunkSource(new Response(chunkStream(kept)), kept))!, 1);
    expect(viaSource.value).toBe(true);

    const viaWeb = { value: false };
    await collect(readerChunks(chunkStream(numbered(10, viaWeb))), 1);
    expect(viaWeb.value).toBe(true);
  });

  it("reads any other Response's body through its web stream", async () => {
    expect((await collect(bodyChunks(new Response("whole body"))!)).join("")).toBe("whole body");
    expect(bodyChunks(new Response(null))).toBeNull();
  });
});
