// Vars written as JSON in wrangler.toml (numbers, booleans, lists) reach the config, anything else is refused by name,
// and the Workers logger keeps to log.level.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CONFIG_VARS, createWorker, type WorkerEnv } from "../../src/adapters/worker-app";
import { silentLogger } from "../../src/app";
import { ConfigError, loadConfig } from "../../src/config";

const workerEnv = env as Cloudflare.Env & WorkerEnv;

function chatRequest(headers: Record<string, string> = {}): Request {
  const messages = [{ role: "user", content: `Explain ${crypto.randomUUID()} in simple words.` }];
  return new Request("http://verdict.test/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "sim-generator", messages }),
  });
}

async function send(request: Request, vars: Record<string, unknown>, worker = createWorker(silentLogger)) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, { ...workerEnv, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

async function errorOf(response: Response) {
  return ((await response.json()) as { error: { message: string; code: string } }).error;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("config vars typed as JSON on Workers", () => {
  it("knows every var loadConfig reads as an override", () => {
    const read = new Set<string>();
    const recording = new Proxy({} as Record<string, string | undefined>, {
      get: (_target, name) => void (typeof name === "string" && read.add(name)),
    });
    expect(() => loadConfig(recording)).toThrow(ConfigError); // no judge model: it still reads every override first
    expect([...read].sort()).toEqual([...CONFIG_VARS].sort());
  });

  it("keeps proxy auth on when VERDICT_API_KEYS is a list", async () => {
    const vars = { VERDICT_API_KEYS: ["key-one-1", "key-two-2"] };
    const worker = createWorker(silentLogger);
    expect((await send(chatRequest(), vars, worker)).status).toBe(401);
    expect((await send(chatRequest({ authorization: "Bearer key-three-3" }), vars, worker)).status).toBe(401);
    expect((await send(chatRequest({ authorization: "Bearer key-two-2" }), vars, worker)).status).toBe(200);
  });

  it("reads a number var as its text would be read", async () => {
    const response = await send(chatRequest(), { VERDICT_N: 2 });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-verdict-candidates")).toBe("2");
  });

  it("answers invalid_config naming each var it cannot read, never its value", async () => {
    const refused: Record<string, unknown>[] = [
      { VERDICT_API_KEYS: { primary: "s3cret-key" } },
      { VERDICT_API_KEYS: [] },
      { VERDICT_API_KEYS: ["s3cret,key"] },
      { VERDICT_API_KEYS: ["s3cret-key", 42] },
      { GENERATOR_MODEL: ["s3cret-model"] },
      { JUDGE_API_KEY: null },
    ];
    for (const vars of refused) {
      const response = await send(chatRequest(), vars);
      expect(response.status).toBe(500);
      const error = await errorOf(response);
      expect(error.code).toBe("invalid_config");
      expect(error.message).toContain(Object.keys(vars)[0]);
      expect(error.message).not.toMatch(/s3cret/);
    }
  });

  it("reports a refused var together with the config file's own problems, Redis on Workers among them", async () => {
    const response = await send(chatRequest(), { VERDICT_API_KEYS: { a: 1 }, VERDICT_CONFIG_JSON: '{"defaults":{"n":0},"cache":{"backend":"redis","redis_url":"redis://127.0.0.1:6379"}}' });
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const error = await errorOf(response);
    expect(error.message).toMatch(/VERDICT_API_KEYS/);
    expect(error.message).toMatch(/defaults\.n/);
    expect(error.message).toMatch(/cache\.backend: "redis"/);
  });
});

describe("the Workers logger", () => {
  function captureConsole() {
    const lines: { level: string; event: string; route?: string }[] = [];
    for (const method of ["debug", "log", "warn", "error"] as const) {
      vi.spyOn(console, method).mockImplementation((line: string) => void lines.push(JSON.parse(line)));
    }
    return lines;
  }

  it("drops lines below LOG_LEVEL", async () => {
    const lines = captureConsole();
    expect((await send(chatRequest(), { LOG_LEVEL: "warn" }, createWorker())).status).toBe(200);
    expect(lines.filter((line) => line.level === "info" || line.level === "debug")).toEqual([]);
  });

  it("writes debug lines at log.level debug (health checks are logged at debug only)", async () => {
    const lines = captureConsole();
    const healthz = new Request("http://verdict.test/healthz");
    expect((await send(healthz, { LOG_LEVEL: "debug" }, createWorker())).status).toBe(200);
    expect(lines).toContainEqual(expect.objectContaining({ level: "debug", event: "request", route: "healthz" }));
  });

  it("stamps every line with its time, as on Node", async () => {
    const lines = captureConsole();
    expect((await send(chatRequest(), {}, createWorker())).status).toBe(200);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines as unknown as { time: string }[]) expect(Number.isNaN(Date.parse(line.time))).toBe(false);
  });
});
