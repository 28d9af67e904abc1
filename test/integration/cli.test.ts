// The command line as a person or a script meets it: help is an answer on stdout, a mistake says what was wrong and
// exits 2, and neither starts a server.
import { execFile } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    // A server started by mistake would outlive the 20 s bound and fail the run, not hang it.
    execFile("node", ["bin/verdict.mjs", ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe("verdict's command line", () => {
  it.each([[["--help"]], [["serve", "--help"]], [["sim", "--help"]]])("prints the usage on stdout and exits 0 for %j", async (args) => {
    const run = await cli(args);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^usage:/);
    expect(run.stdout).toContain("verdict sim [--port N]");
    expect(run.stderr).toBe("");
  });

  it.each([
    [["sim", "--port", "abc"], /--port abc is not a valid value/],
    [["sim", "--accuracy", "2"], /--accuracy 2 is not a valid value/],
    [["sim", "--bogus"], /verdict sim: Unknown option '--bogus'/],
    [["serve", "extra"], /verdict serve takes no arguments/],
    [["bogus"], /unknown command bogus/],
  ])("refuses %j with exit code 2, saying why, and no stack trace", async (args, why) => {
    const run = await cli(args as string[]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(why as RegExp);
    expect(run.stderr).toContain("usage:");
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).toBe("");
  });

  it("says a simulator port is in use, exit code 1, without a stack trace", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      const run = await cli(["sim", "--port", String((taken.address() as AddressInfo).port)]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/--port: \d+ is already in use on 127\.0\.0\.1/);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      taken.close();
    }
  });
});
