// `verdict serve` with no generator configured runs on the simulator: a judge the config does name keeps its own model
// (or is refused without one), and is never sent the simulator's judge name.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";

/** A judge that always prefers the first answer, recording the model each call names. */
async function recordingJudge() {
  const models: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      models.push(JSON.parse(body).model);
      const answer = { id: "j", object: "chat.completion", created: 1, model: "my-judge", choices: [{ index: 0, message: { role: "assistant", content: '{"reasoning":"first","winner":"A"}' }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, models, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Starts `verdict serve` with `env` on a free port; resolves with its URL once it listens, or its output if it exits. */
function serve(env: NodeJS.ProcessEnv) {
  const inherited: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ["GENERATOR_BASE_URL", "JUDGE_BASE_URL", "JUDGE_MODEL", "JUDGE_BACKEND"]) delete inherited[name];
  const child = spawn("node", ["bin/verdict.mjs", "serve"], { env: { ...inherited, PORT: "0", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const ready = new Promise<{ url?: string; output: string; code?: number | null }>((resolve) => {
    const read = (chunk: Buffer) => {
      output += chunk;
      const url = /verdict listening on (\S+)/.exec(output)?.[1];
      if (url) resolve({ url, output });
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.once("exit", (code) => resolve({ output, code }));
  });
  return { ready, stop: () => child.kill("SIGTERM") };
}

it("sends a configured judge its own model while the simulator stands in for the generator", async () => {
  const judge = await recordingJudge();
  const dir = mkdtempSync(join(tmpdir(), "verdict-serve-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ judge: { base_url: judge.url, model: "my-judge" } }));
  const proxy = serve({ VERDICT_CONFIG: join(dir, "config.json") });
  try {
    const { url, output } = await proxy.ready;
    expect(url, output).toBeDefined();
    const response = await fetch(`${url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "Name a colour." }], verdict: { n: 2 } }) });
    expect(response.status).toBe(200);
    expect(judge.models.length).toBeGreaterThan(0);
    expect(new Set(judge.models)).toEqual(new Set(["my-judge"]));
  } finally {
    proxy.stop();
    await judge.close();
  }
}, 60_000);

it("refuses to start with a judge URL but no judge model, rather than sending it the simulator's", async () => {
  const proxy = serve({ VERDICT_CONFIG: "", JUDGE_BASE_URL: "http://127.0.0.1:9/v1" });
  const { url, output, code } = await proxy.ready;
  proxy.stop();
  expect(url).toBeUndefined();
  expect(code).not.toBe(0);
  expect(output).toMatch(/judge\.model/);
}, 60_000);
