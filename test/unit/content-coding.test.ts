// Bodies in a coding the runtime's fetch left as sent are decoded before verdict reads them; others pass untouched.
import { deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { LEFT_BY_WORKERD, undoLeftCoding } from "../../src/util/content-coding";

const answer = JSON.stringify({ object: "chat.completion", choices: [] });
const sent = (coding: string, bytes: Buffer) => new Response(new Uint8Array(bytes), { status: 200, headers: { "content-encoding": coding, "content-type": "application/json" } });

describe("undoLeftCoding", () => {
  it("decodes deflate and x-gzip where the runtime's fetch leaves them (workerd), keeping status and headers", async () => {
    for (const [coding, bytes] of [["deflate", deflateSync(answer)], ["x-gzip", gzipSync(answer)], ["X-GZIP", gzipSync(answer)]] as const) {
      const decoded = undoLeftCoding(sent(coding, bytes), LEFT_BY_WORKERD);
      expect(await decoded.text()).toBe(answer);
      expect(decoded.status).toBe(200);
      expect(decoded.headers.get("content-type")).toBe("application/json");
    }
  });

  it("leaves a body alone where the runtime decoded it, in two codings, or with none", async () => {
    const gzip = gzipSync(answer);
    expect(Buffer.from(await undoLeftCoding(sent("gzip", gzip), LEFT_BY_WORKERD).arrayBuffer())).toEqual(gzip);
    const twice = sent("deflate, gzip", gzip);
    expect(undoLeftCoding(twice, LEFT_BY_WORKERD)).toBe(twice);
    const plain = new Response(answer);
    expect(undoLeftCoding(plain, LEFT_BY_WORKERD)).toBe(plain);
    // On Node, fetch decodes all four itself: nothing is left to undo.
    const deflated = sent("deflate", deflateSync(answer));
    expect(undoLeftCoding(deflated)).toBe(deflated);
  });
});
