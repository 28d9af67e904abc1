// The README's first command: `npm start` builds the bundle, serves on the simulator when no upstream is configured,
// and answers a best-of-N request. Run as a newcomer would, in its own process group, stopped with SIGTERM.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { expect, it } from "vitest";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

it("npm start serves a best-of-N answer from the simulator and stops on SIGTERM", async () => {
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), VERDICT_CONFIG: "", GENERATOR_BASE_URL: "" };
  const child = spawn("npm", ["start"], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk));
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(String(code ?? signal))));
  try {
    const started = Date.now();
    while (!/verdict listening on (\S+)/.test(output)) {
      if (Date.now() - started > 30_000 || child.exitCode !== null) throw new Error(`npm start did not come up:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(output).toMatch(/SIMULATOR/);
    const url = /verdict listening on (\S+)/.exec(output)![1]!;
    const response = await fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "Name a colour." }], verdict: { n: 3 } }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { verdict: { n_candidates: number } };
    expect(body.verdict.n_candidates).toBe(3);
  } finally {
    process.kill(-child.pid!, "SIGTERM"); // npm and the node it started
  }
  expect(["0", "SIGTERM"]).toContain(await exited);
  await new Promise((r) => setTimeout(r, 500)); // the proxy drains and exits
  await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
}, 60_000);
