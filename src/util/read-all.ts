// A Node stream read to its end into one Buffer (a request body, an upstream's JSON answer), or up to a limit.
import type { Readable } from "node:stream";

/**
 * Fails when the stream errors, or closes before its end without saying why (a peer that went away). With a `limit`,
 * resolves with the first `limit` bytes as soon as they are in, and destroys the stream: the rest is never read; or,
 * given `tooLarge`, fails with it there, without joining what was read (at 64 MiB, a second copy of it).
 */
export function readAll(stream: Readable, limit = Infinity, tooLarge?: () => Error): Promise<Buffer> {
  // Gone before anyone listened (a client that left while its key was checked): no close event is coming.
  if (stream.destroyed) return Promise.reject(new Error("the stream closed before it was read"));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const whole = () => (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    stream.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length < limit || settled) return;
      settled = true;
      if (tooLarge) {
        chunks.length = 0;
        reject(tooLarge());
      } else {
        resolve(whole().subarray(0, limit));
      }
      stream.destroy();
    });
    stream.once("end", () => {
      if (settled) return;
      settled = true;
      resolve(whole());
    });
    stream.once("error", (err) => settled || ((settled = true), reject(err)));
    stream.once("close", () => settled || ((settled = true), reject(new Error("the stream closed before its end"))));
  });
}
