// A Node stream read to its end into one Buffer (a request body, an upstream's JSON answer).
import type { Readable } from "node:stream";

/** Fails when the stream errors, or closes before its end without saying why (a peer that went away). */
export function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.once("end", () => {
      ended = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    stream.once("error", reject);
    stream.once("close", () => ended || reject(new Error("the stream closed before its end")));
  });
}
