// `verdict eval` as a script sees it: exit codes for bad arguments, bad data and a judge that never answers, and a
// progress line that agrees with the final figures. Runs the real CLI against simulators on 127.0.0.1.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startSimulator, type RunningSimulator } from "../sim/start";

const HALUEVAL = "../shared/data/halueval-qa.jsonl";

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `verdict eval` with a config file naming `judgeUrl` as the judge (no retries; the generator at the same URL unless
 * `judgeOnly`), or with no config when none.
 */
function evalCli(args: string[], judgeUrl?: string, judgeOnly = false, extra: { config?: Record<string, unknown>; out?: string } = {}): Promise<CliRun & { out: string }> {
  const dir = mkdtempSync(join(tmpdir(), "verdict-eval-cli-"));
  const out = extra.out ?? join(dir, "out");
  const env: NodeJS.ProcessEnv = { ...process.env, VERDICT_CONFIG: "" };
  for (const name of ["JUDGE_BASE_URL", "JUDGE_MODEL", "JUDGE_API_KEY", "JUDGE_BACKEND", "GENERATOR_BASE_URL", "GENERATOR_API_KEY"]) delete env[name];
  if (judgeUrl) {
    env.VERDICT_CONFIG = join(dir, "verdict.config.json");
    const judge = { base_url: judgeUrl, model: "sim-judge", max_retries: 0, ...(extra.config?.judge as object) };
    const generator = { ...(judgeOnly ? {} : { base_url: judgeUrl }), ...(extra.config?.generator as object) };
    writeFileSync(env.VERDICT_CONFIG, JSON.stringify(Object.keys(generator).length > 0 ? { generator, judge } : { judge }));
  }
  return new Promise((resolve) => {
    execFile("node", ["bin/verdict.mjs", "eval", "--out", out, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr, out });
    });
  });
}

/** A judge that refuses every call with a 500 naming the Authorization header it was sent, and records those headers. */
async function echoingJudge(): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server = createHttpServer((req, res) => {
    seen.push(req.headers.authorization ?? "");
    req.resume().on("end", () => res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: `boom, you sent ${req.headers.authorization}` } })));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const running: RunningSimulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

describe("verdict eval (CLI)", () => {
  it("rejects a --limit or --concurrency that is not a positive integer, with usage and exit code 2", async () => {
    const bad = ["--limit=abc", "--limit=0", "--limit=1.5", "--concurrency=abc", "--concurrency=0", "--concurrency=-2"];
    const runs = await Promise.all(bad.map((arg) => evalCli(["--sim", "--task", "grounding", "--data", HALUEVAL, arg])));
    for (const [i, run] of runs.entries()) {
      expect({ arg: bad[i], code: run.code }).toEqual({ arg: bad[i], code: 2 });
      expect(run.stderr).toContain(`${bad[i]!.split("=")[0]} must be a positive integer`);
      expect(run.stderr).toContain("verdict eval --task");
      expect(run.stdout).not.toMatch(/items.*accuracy/);
    }
  }, 60_000);

  it("prints its usage on stdout and exits 0 when asked with --help", async () => {
    const run = await evalCli(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("verdict eval --task grounding|pairwise");
    expect(run.stderr).toBe("");
  });

  it("rejects an unknown option with usage and exit code 2, not a stack trace", async () => {
    const run = await evalCli(["--sim", "--task", "grounding", "--data", HALUEVAL, "--limt", "3"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--limt/);
    expect(run.stderr).toContain("verdict eval --task");
    expect(run.stderr).not.toMatch(/^\s+at /m);
  }, 60_000);

  it("keeps keys out of its reports, and never lends the generator's key to a judge on another host", async () => {
    const judge = await echoingJudge();
    try {
      const config = { judge: { api_key: "sk-judge-secret-999888" }, generator: { api_key: "sk-generator-secret-777" } };
      const run = await evalCli(["--task", "grounding", "--data", HALUEVAL, "--limit", "1"], judge.url, true, { config });
      expect(run.code).toBe(1);
      const report = readFileSync(join(run.out, "grounding-report.json"), "utf8") + readFileSync(join(run.out, "grounding-report.html"), "utf8");
      expect(report).toMatch(/\[redacted\]/);
      expect(report).not.toMatch(/secret-999888/);
      expect(judge.seen.every((header) => header === "Bearer sk-judge-secret-999888")).toBe(true);
      // No judge key of its own: the generator's is not sent to the judge's host either.
      const keyless = await evalCli(["--task", "grounding", "--data", HALUEVAL, "--limit", "1"], judge.url, true, { config: { generator: { api_key: "sk-generator-secret-777" } } });
      expect(keyless.code).toBe(1);
      expect(judge.seen.at(-1)).toBe("");
    } finally {
      await judge.close();
    }
  }, 60_000);

  it("waits for the judge's slots rather than counting its own full queue as judge errors", async () => {
    const sim = await startSimulator();
    running.push(sim);
    const config = { judge: { concurrency: 2, max_queued: 0 } };
    const run = await evalCli(["--task", "grounding", "--data", HALUEVAL, "--limit", "10", "--concurrency", "8"], sim.url, true, { config });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/20 items: accuracy [\d.]+, FAIL F1 [\d.]+, 0 judge errors/);
  }, 60_000);

  it("judges with the simulator under --sim even when the config chooses Root Signals", async () => {
    const config = { judge: { backend: "root-signals", evaluators: { default: { name: "Helpfulness" } }, api_key: "rs-key-123456" } };
    const run = await evalCli(["--task", "grounding", "--data", HALUEVAL, "--limit", "2", "--sim"], "http://127.0.0.1:9/v1", true, { config });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/4 items: accuracy [\d.]+, FAIL F1 [\d.]+, 0 judge errors/);
  }, 60_000);

  it("refuses an --out it cannot write before judging anything, exit code 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "verdict-eval-out-"));
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    const judge = await echoingJudge();
    try {
      const run = await evalCli(["--task", "grounding", "--data", HALUEVAL, "--limit", "2"], judge.url, true, { out: file });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/cannot write the report/);
      expect(judge.seen).toHaveLength(0);
      // A directory where the report file would go: the directory can be made, the file not.
      mkdirSync(join(dir, "out", "grounding-report.json"), { recursive: true });
      const blocked = await evalCli(["--task", "grounding", "--data", HALUEVAL, "--limit", "2"], judge.url, true, { out: join(dir, "out") });
      expect(blocked.code).toBe(2);
      expect(blocked.stderr).toMatch(/cannot write the report to .*EISDIR/);
      expect(blocked.stderr).not.toMatch(/^\s+at /m);
      expect(judge.seen).toHaveLength(0);
    } finally {
      await judge.close();
    }
  }, 60_000);

  it("leaves no empty report behind when it stops before judging (no judge configured)", async () => {
    const run = await evalCli(["--task", "grounding", "--data", HALUEVAL, "--limit", "2"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/needs a judge/);
    expect(readdirSync(run.out)).toEqual([]);
  }, 60_000);

  it("tells a config it cannot use from a judge that failed: the problem named, exit code 2", async () => {
    const run = await evalCli(["--task", "grounding", "--data", HALUEVAL, "--limit", "2"], "http://127.0.0.1:9/v1", true, { config: { judge: { timeout_ms: -1 } } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/judge\.timeout_ms/);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  }, 60_000);

  it("exits 1 when the judge cannot be reached for any item", async () => {
    const run = await evalCli(["--task", "grounding", "--data", HALUEVAL, "--limit", "2"], `http://127.0.0.1:${await closedPort()}/v1`);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/4 items: accuracy n\/a/);
    expect(run.stderr).toMatch(/no item got a readable verdict/);
  }, 60_000);

  it("judges with a config file that names only the judge, as the README says it may", async () => {
    const sim = await startSimulator();
    running.push(sim);
    const run = await evalCli(["--task", "grounding", "--data", HALUEVAL, "--limit", "2"], sim.url, true);
    expect(run.stderr).not.toMatch(/needs a judge/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/4 items: accuracy/);
  }, 60_000);

  it("exits 1 when the judge answers but never with a readable verdict", async () => {
    const sim = await startSimulator({ faults: { judge: { rate: 1, kinds: ["garbage"] } } });
    running.push(sim);
    const run = await evalCli(["--task", "pairwise", "--data", "../shared/data/llmbar/natural.json", "--limit", "3"], sim.url);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/3 unreadable/);
  }, 60_000);

  it("shows progress accuracy that leaves judge errors out, as the final accuracy does", async () => {
    const sim = await startSimulator({ faults: { judge: { rate: 0.4, kinds: ["status_500"] } } });
    running.push(sim);
    const dir = mkdtempSync(join(tmpdir(), "verdict-eval-progress-"));
    const run = await evalCli(["--task", "grounding", "--data", HALUEVAL, "--limit", "20", "--concurrency", "2", "--out", dir], sim.url);
    expect(run.code).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, "grounding-report.json"), "utf8"));
    expect(report.summary.errors).toBeGreaterThan(0);
    const progress = [...run.stdout.matchAll(/^40\/40 items, accuracy so far ([\d.]+)%/gm)];
    expect(progress).toHaveLength(1);
    expect(Number(progress[0]![1])).toBeCloseTo(100 * report.summary.accuracy, 1);
  }, 60_000);

  it("rejects a null data row naming its line, without a stack trace, exit code 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "verdict-eval-data-"));
    const data = join(dir, "rows.jsonl");
    writeFileSync(data, `${JSON.stringify({ input: "i", output_1: "a", output_2: "b", label: 1 })}\n\nnull\n`);
    const run = await evalCli(["--sim", "--task", "pairwise", "--data", data]);
    expect(run.stderr).toContain(`${data}: line 3 is not an object`);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.code).toBe(2);
  }, 60_000);

  it("rejects a data file with no rows, exit code 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "verdict-eval-data-"));
    const data = join(dir, "empty.jsonl");
    writeFileSync(data, "\n");
    const run = await evalCli(["--sim", "--task", "grounding", "--data", data]);
    expect(run.stderr).toContain("holds no rows");
    expect(run.code).toBe(2);
  }, 60_000);
});
