// readAll: a stream read whole, or up to a limit.
import { Readable } from "node:stream";
import { expect, it } from "vitest";
import { readAll } from "../../src/util/read-all";

const chunks = (count: number, size: number) => Readable.from(Array.from({ length: count }, () => Buffer.alloc(size, 1)));

it("gives the first bytes up to a limit and reads no further", async () => {
  const stream = chunks(10, 100);
  expect((await readAll(stream, 250)).length).toBe(250);
  expect(stream.destroyed).toBe(true);
});

it("fails with the caller's error at the limit when a body that long is no answer, and reads no further", async () => {
  const stream = chunks(10, 100);
  const tooLarge = new Error("too large");
  await expect(readAll(stream, 250, () => tooLarge)).rejects.toBe(tooLarge);
  expect(stream.destroyed).toBe(true);
  expect((await readAll(chunks(2, 100), 250, () => tooLarge)).length).toBe(200);
});
