// Secrets are taken out of a body however its chunks fall, and a body without one is not held back or copied.
import { describe, expect, it } from "vitest";
import { scrubbedChunks, searchLoop, SecretBytes } from "../../src/util/byte-scrub";

const utf8 = new TextEncoder();
const text = new TextDecoder();
const secretsOf = (...secrets: string[]) => new SecretBytes(secrets.map((s) => utf8.encode(s)), utf8.encode("[x]"));
const scrubberFor = (...secrets: string[]) => secretsOf(...secrets).scrubber();

/** What a client reads when `body` arrives cut at `cuts`, and what each chunk handed on was. */
function through(secrets: string[], body: string, cuts: number[]): { out: string; sent: string[] } {
  const scrubber = scrubberFor(...secrets);
  const bytes = utf8.encode(body);
  const edges = [0, ...cuts, bytes.length];
  const sent = edges.slice(1).map((end, i) => text.decode(scrubber.push(bytes.subarray(edges[i], end))));
  sent.push(text.decode(scrubber.end()));
  return { out: sent.join(""), sent };
}

describe("byte scrubber", () => {
  const body = 'data: {"content":"the key is sk-live-SECRET-12345, keep it"}\n\n';

  it("replaces a secret wherever the chunks cut it", () => {
    for (let cut = 1; cut < body.length; cut++) {
      expect(through(["sk-live-SECRET-12345"], body, [cut]).out).toBe('data: {"content":"the key is [x], keep it"}\n\n');
    }
  });

  it("replaces a secret cut in three", () => {
    const at = body.indexOf("sk-live");
    expect(through(["sk-live-SECRET-12345"], body, [at + 2, at + 9]).out).not.toContain("SECRET");
  });

  it("prefers the longer of two secrets that start at one place, even when the chunk ends inside the longer", () => {
    const at = body.indexOf("sk-live");
    const secrets = ["sk-live-SECRET", "sk-live-SECRET-12345"];
    expect(through(secrets, body, []).out).toContain("the key is [x], keep it");
    // The first chunk ends just after the shorter secret: the longer may still follow, so it waits.
    expect(through(secrets, body, [at + "sk-live-SECRET".length]).out).toContain("the key is [x], keep it");
  });

  it("hands on at once a chunk that ends in an event's blank line, the very bytes it got", () => {
    const scrubber = scrubberFor("sk-live-SECRET-12345");
    const chunk = utf8.encode('data: {"content":"hello"}\n\n');
    expect(scrubber.push(chunk)).toBe(chunk);
  });

  it("holds back only bytes that may start a secret, and lets them go when they do not", () => {
    const { sent } = through(["sk-live-SECRET-12345"], 'data: "sk-li', []);
    expect(sent[0]).toBe('data: "');
    expect(sent[1]).toBe("sk-li"); // the body ended: what was held goes on as it is
    expect(through(["sk-live-SECRET-12345"], 'data: "sk-lime"\n\n', [11]).out).toBe('data: "sk-lime"\n\n');
  });

  it("replaces every occurrence, and leaves a body with none unchanged", () => {
    expect(through(["abcdef"], "abcdef abcdef-abcdef", [3, 10]).out).toBe("[x] [x]-[x]");
    const plain = utf8.encode("nothing to see");
    expect(secretsOf("abcdef").whole(plain)).toBe(plain);
    expect(text.decode(secretsOf("abcdef").whole(utf8.encode("xabcdefx")))).toBe("x[x]x");
  });
});

describe("the search used where there is no Buffer (Workers)", () => {
  it("finds what Buffer's indexOf finds", () => {
    const hay = utf8.encode("aab abab ababc abc");
    for (const needle of ["abc", "ab", "a", "c", "abd", "aab abab ababc abc", "x"]) {
      for (let from = 0; from <= hay.length; from++) {
        expect(searchLoop(hay, utf8.encode(needle), from)).toBe(Buffer.from(hay).indexOf(needle, from));
      }
    }
  });
});

describe("scrubbed chunks", () => {
  async function* chunks(...parts: string[]) {
    for (const part of parts) yield utf8.encode(part);
  }

  it("reads a stream with the secret taken out across its chunks", async () => {
    const read: string[] = [];
    for await (const chunk of scrubbedChunks(chunks("data: my key sk-li", "ve-SECRET-12345\n\n", "data: [DONE]\n\n"), scrubberFor("sk-live-SECRET-12345"))) {
      read.push(text.decode(chunk));
    }
    expect(read.join("")).toBe("data: my key [x]\n\ndata: [DONE]\n\n");
    expect(read.join("")).not.toContain("SECRET");
  });

  it("ends its source at once when its reader stops", async () => {
    let ended = false;
    const source: AsyncIterableIterator<Uint8Array> = {
      next: () => new Promise(() => undefined), // a read that never comes
      return: async () => ((ended = true), { done: true, value: undefined }),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    const scrubbed = scrubbedChunks(source, scrubberFor("abcdef"));
    void scrubbed.next();
    await scrubbed.return!();
    expect(ended).toBe(true);
  });
});

describe("secrets replaced by as many bytes", () => {
  it("fills the replacement out with * or cuts it to each secret's length, however the chunks fall", () => {
    const secrets = new SecretBytes(["abcdefgh", "0123456789abcdef"].map((s) => utf8.encode(s)), utf8.encode("[redacted]"), true);
    const text = "x abcdefgh y 0123456789abcdef z";
    for (let cut = 0; cut <= text.length; cut++) {
      const scrubber = secrets.scrubber();
      const bytes = utf8.encode(text);
      const out = [scrubber.push(bytes.slice(0, cut)), scrubber.push(bytes.slice(cut)), scrubber.end()].map((part) => new TextDecoder().decode(part)).join("");
      expect(out).toBe("x [redacte y [redacted]****** z");
    }
  });
});

