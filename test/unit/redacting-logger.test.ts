// Log lines never carry a key: whether an event goes out serialised once (nothing suspect in it) or string by string,
// every configured secret and every bearer-looking token in it is replaced, and the line stays valid JSON.
import { describe, expect, it } from "vitest";
import type { Logger } from "../../src/app";
import { createJsonLogger } from "../../src/adapters/node";
import { createRedactor, redactingLogger } from "../../src/redact";

function capture(secrets: string[]) {
  const lines: { event: Record<string, unknown>; text: string | undefined }[] = [];
  const sink: Logger = { info: (event, text) => lines.push({ event, text }), warn: () => undefined, error: () => undefined };
  return { log: redactingLogger(sink, createRedactor(secrets)), lines };
}

describe("redacting logger", () => {
  it("passes an event with nothing secret in it on as it is, with its JSON text", () => {
    const { log, lines } = capture(["sk-configured-secret-1"]);
    const event = { event: "request", status: 200, model: "sim-gen", note: "basically fine" };
    log.info(event);
    expect(lines[0]!.event).toEqual(event);
    expect(JSON.parse(lines[0]!.text!)).toEqual(event);
  });

  it("replaces configured secrets, also ones JSON escapes (a quote, a backslash)", () => {
    const tricky = 'my"se\\cret-value';
    const { log, lines } = capture(["upstream-key-12345", tricky]);
    log.info({ event: "x", nested: { a: "key upstream-key-12345 here", b: [`and ${tricky}`] } });
    expect(lines[0]!.text).not.toContain("upstream-key-12345");
    expect(JSON.parse(lines[0]!.text!)).toEqual({ event: "x", nested: { a: "key [redacted] here", b: ["and [redacted]"] } });
  });

  it.each(['pa"ss-word-123', "pa\\ss-word-123", "pa\tss-word-123"])("replaces the secret %j where a logged string quotes it JSON-escaped", (secret) => {
    const quoted = JSON.stringify(secret).slice(1, -1);
    const { log, lines } = capture([secret]);
    log.info({ event: "upstream_error", error: `upstream said: {"error":"bad key ${quoted}"}` });
    expect(JSON.parse(lines[0]!.text!).error).toBe('upstream said: {"error":"bad key [redacted]"}');
  });

  it.each(['pa"ss-word-123', "pa\\ss-word-123"])("replaces the secret %j escaped twice, as a gateway quoting a provider's JSON error shows it", (secret) => {
    const twice = JSON.stringify(JSON.stringify(secret).slice(1, -1)).slice(1, -1);
    const { log, lines } = capture([secret]);
    log.info({ event: "upstream_error", error: `gateway: {"body":"{\\"error\\":\\"bad key ${twice}\\"}"}` });
    expect(lines[0]!.text).not.toContain("ss-word-123");
  });

  it("replaces tokens that only stand apart in the decoded string (after a newline or a tab)", () => {
    const { log, lines } = capture([]);
    log.info({ event: "x", error: "upstream said:\nsk-abcdefgh12345678 is invalid", header: "got\tBearer abc.def-ghi" });
    const text = lines[0]!.text!;
    expect(text).not.toContain("abcdefgh12345678");
    expect(text).not.toContain("abc.def-ghi");
    expect(JSON.parse(text)).toEqual({ event: "x", error: "upstream said:\n[redacted] is invalid", header: "got\tBearer [redacted]" });
  });

  it("leaves an event at a level the logger drops unread, and still writes the levels it keeps", () => {
    const lines: string[] = [];
    const log = redactingLogger(createJsonLogger("warn", { out: (line) => lines.push(line), err: (line) => lines.push(line) }), createRedactor(["sk-test-secret-123"]));
    let read = 0;
    const event = { event: "request", get status() { read += 1; return 200; } };
    log.info(event);
    log.debug?.(event);
    expect(read).toBe(0);
    log.warn({ event: "upstream_error", error: "key sk-test-secret-123 refused" });
    expect(lines.map((line) => JSON.parse(line).error)).toEqual(["key [redacted] refused"]);
  });
});
