// How a request that failed is answered, logged and counted, when its client is still there and when it has gone.
import { describe, expect, it } from "vitest";
import { failureOf, silentLogger } from "../../src/app";
import { badRequest, ProxyError } from "../../src/errors";

describe("failureOf", () => {
  const rateLimited = new ProxyError(429, "generator upstream error: slow down", { code: "rate_limit_exceeded", headers: { "retry-after": "2" } });
  const unreachable = new ProxyError(502, "generator upstream unreachable", { code: "generator_unreachable" });

  it("puts an upstream failure down to a client that had gone, a rate limit whose wait it cut short included", () => {
    for (const err of [rateLimited, unreachable, new Error("aborted")]) {
      expect(failureOf(err, "req-1", silentLogger, true)).toMatchObject({ status: 499, code: "cancelled" });
    }
  });

  it("keeps a refusal of the request as it is, and every failure as it is while the client is there", () => {
    const refused = badRequest("invalid messages", "messages");
    expect(failureOf(refused, "req-1", silentLogger, true)).toBe(refused);
    expect(failureOf(rateLimited, "req-1", silentLogger, false)).toBe(rateLimited);
    expect(failureOf(unreachable, "req-1", silentLogger, false)).toBe(unreachable);
  });
});
