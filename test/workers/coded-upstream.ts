// A generator on 127.0.0.1 that answers every chat completion in the content coding its path names (/gzip/v1,
// /x-gzip/v1, /deflate/v1, /br/v1), for checking which codings workerd's fetch undoes before verdict reads a body.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";

const ENCODERS: Record<string, (body: Buffer) => Buffer> = {
  gzip: gzipSync,
  "x-gzip": gzipSync,
  deflate: deflateSync,
  br: brotliCompressSync,
};

/** The answer every call gets: one choice per `n`, each naming its coding so a test can tell what it read. */
export function codedCompletion(coding: string, n: number) {
  const choices = Array.from({ length: n }, (_, index) => ({ index, message: { role: "assistant", content: `Answer ${index} sent as ${coding}.` }, finish_reason: "stop" }));
  return { id: "chatcmpl-coded", object: "chat.completion", created: 1, model: "coded", choices, usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } };
}

export async function startCodedUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk)).on("end", () => {
      const coding = req.url!.split("/")[1]!;
      const encode = ENCODERS[coding];
      if (!encode) return void res.writeHead(404).end();
      const sent = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { n?: number };
      const body = encode(Buffer.from(JSON.stringify(codedCompletion(coding, sent.n ?? 1))));
      res.writeHead(200, { "content-type": "application/json", "content-encoding": coding, "content-length": body.byteLength }).end(body);
    });
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((closed) => server.close(() => closed())),
  };
}
