// A server that cannot listen says which setting to change, as a config problem: not an unhandled error and a stack.
import { describe, expect, it } from "vitest";
import { startProxy } from "../../src/adapters/node";
import { silentLogger as silent } from "../../src/app";
import { ConfigError } from "../../src/config";
import { testConfig } from "../helpers";

describe("listening", () => {
  it("names server.port when the port is taken, and server.host when the host is not this machine's", async () => {
    const first = await startProxy(testConfig({ server: { port: 0 } }), silent);
    try {
      const port = Number(new URL(first.url).port);
      const taken = await startProxy(testConfig({ server: { port } }), silent).catch((err: unknown) => err);
      expect(taken).toBeInstanceOf(ConfigError);
      expect((taken as ConfigError).problems).toEqual([`server.port: ${port} is already in use on 127.0.0.1`]);
      const elsewhere = await startProxy(testConfig({ server: { port: 0, host: "nonexistent.invalid" } }), silent).catch((err: unknown) => err);
      expect(elsewhere).toBeInstanceOf(ConfigError);
      expect((elsewhere as ConfigError).problems[0]).toMatch(/^server\.host: cannot listen on nonexistent\.invalid/);
    } finally {
      await first.close();
    }
  });
});
