// Config: one schema, env overrides, and errors that name every bad field.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError, judgeEndpoint, loadConfig, secretsOf } from "../../src/config";

const minimal = { generator: { base_url: "http://127.0.0.1:9/v1" }, judge: { model: "root-judge" } };

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("a cap on judge calls too low for its tournament", () => {
  it("stops startup, naming the cap and what it would bound, instead of refusing every request", () => {
    expect(problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, defaults: { n: 4, max_judge_calls: 2 } })))).toEqual([
      "defaults.max_judge_calls: 2 judge calls cannot play the tournament of 4 candidates of defaults.n, which needs 6",
    ]);
    const models = { big: { model: "g", n: 8, max_judge_calls: 10 }, rr: { model: "g", n: 3, tournament: "round_robin" } };
    expect(problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, defaults: { max_judge_calls: 6 }, models })))).toEqual([
      "models.big.max_judge_calls: 10 judge calls cannot play the tournament of 8 candidates of models.big, which needs 14",
    ]);
    const roundRobin = { rr: { model: "g", n: 4, tournament: "round_robin" } };
    expect(problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, defaults: { max_judge_calls: 6 }, models: roundRobin })))).toEqual([
      "defaults.max_judge_calls (for models.rr): 6 judge calls cannot play the tournament of 4 candidates of models.rr, which needs 12",
    ]);
    // Rubric makes one call per candidate: the pairwise minimum does not apply.
    expect(() => loadConfig({}, JSON.stringify({ ...minimal, defaults: { strategy: "rubric", max_judge_calls: 2 } }))).not.toThrow();
  });
});

describe("loadConfig", () => {
  it("fills defaults around a minimal file", () => {
    const config = loadConfig({}, JSON.stringify(minimal));
    expect(config.defaults).toMatchObject({ n: 4, strategy: "pairwise", min_candidates: 1 });
    expect(config.server.port).toBe(8787);
    expect(config.judge.on_error).toBe("fail_open");
    expect(judgeEndpoint(config).base_url).toBe("http://127.0.0.1:9/v1");
  });

  it("lets env variables override the file", () => {
    const config = loadConfig(
      { GENERATOR_BASE_URL: "http://10.0.0.1/v1", JUDGE_MODEL: "j", JUDGE_BASE_URL: "http://j/v1", PORT: "9000", VERDICT_N: "8", GENERATOR_MODEL: "g" },
      JSON.stringify(minimal),
    );
    expect(config.generator.base_url).toBe("http://10.0.0.1/v1");
    expect(config.generator.model).toBe("g");
    expect(config.judge.model).toBe("j");
    expect(judgeEndpoint(config).base_url).toBe("http://j/v1");
    expect(config.server.port).toBe(9000);
    expect(config.defaults.n).toBe(8);
  });

  it("does not hand the generator's key to a judge on another host, and does to one on the generator's URL", () => {
    const config = loadConfig({ GENERATOR_API_KEY: "gen-secret", JUDGE_BASE_URL: "http://judge/v1" }, JSON.stringify(minimal));
    expect(judgeEndpoint(config).api_key).toBeUndefined();
    const same = loadConfig({ GENERATOR_API_KEY: "gen-secret", JUDGE_BASE_URL: `${minimal.generator.base_url}/` }, JSON.stringify(minimal));
    expect(judgeEndpoint(same).api_key).toBe("gen-secret");
  });

  it("keeps ROOT_SIGNALS_API_KEY for the root-signals backend: an OpenAI-compatible judge keeps its own key", () => {
    const config = loadConfig({ JUDGE_API_KEY: "judge-key", ROOT_SIGNALS_API_KEY: "rs-key" }, JSON.stringify(minimal));
    expect(judgeEndpoint(config).api_key).toBe("judge-key");
  });

  it("checks a virtual model's n and min_candidates at start, as a request's would be", () => {
    const models = { big: { model: "m", n: 40 }, none: { model: "m", n: 0 }, picky: { model: "m", n: 2, min_candidates: 5 } };
    const problems = problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, models })));
    expect(problems).toEqual([
      "models.big.n: 40 is not between 1 and limits.max_n (16)",
      "models.none.n: 0 is not between 1 and limits.max_n (16)",
      "models.picky.min_candidates: 5 is above its n (2)",
    ]);
  });

  it("checks a cap on judge calls against a guard's tournament only when its inner strategy plays one", () => {
    const models = { graded: { model: "m", strategy: "guard", inner: "rubric", n: 8 }, paired: { model: "m", strategy: "guard", n: 8 } };
    expect(problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, defaults: { max_judge_calls: 6 }, models })))).toEqual([
      "defaults.max_judge_calls (for models.paired): 6 judge calls cannot play the tournament of 8 candidates of models.paired, which needs 14",
    ]);
  });

  it("refuses a virtual model or collector header named __proto__, which would be dropped without a word", () => {
    const text = `{"generator":{"base_url":"http://127.0.0.1:9/v1"},"judge":{"model":"j"},"models":{"__proto__":{"model":"evil","n":3}},"tracing":{"headers":{"__proto__":"x"}}}`;
    expect(problemsOf(() => loadConfig({}, text))).toEqual([
      'models.__proto__: "__proto__" cannot name anything here (it would be dropped without a word)',
      'tracing.headers.__proto__: "__proto__" cannot name anything here (it would be dropped without a word)',
    ]);
  });

  it("refuses a VERDICT_API_KEYS that holds no key, which would leave the proxy open, and keys no header can carry", () => {
    const keyed = { ...minimal, auth: { keys: ["file-proxy-key-1"] } };
    for (const blank of [",", " ", " , "]) {
      expect(problemsOf(() => loadConfig({ VERDICT_API_KEYS: blank }, JSON.stringify(keyed)))).toEqual([expect.stringMatching(/^VERDICT_API_KEYS: set but holds no key/)]);
    }
    expect(loadConfig({ VERDICT_API_KEYS: "" }, JSON.stringify(keyed)).auth.keys).toEqual(["file-proxy-key-1"]);
    expect(loadConfig({ VERDICT_API_KEYS: " env-proxy-key-1 ," }, JSON.stringify(keyed)).auth.keys).toEqual(["env-proxy-key-1"]);
    const newline = problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, auth: { keys: ["file-proxy-key-1\n"] } })));
    expect(newline).toEqual([expect.stringMatching(/^auth\.keys\.0: proxy keys must be printable ASCII without spaces/)]);
    // curl sends UTF-8 and Node's fetch Latin-1: a key beyond ASCII matches for one client and never for another.
    const accented = problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, auth: { keys: ["clé-secrète-123"] } })));
    expect(accented).toEqual([expect.stringMatching(/^auth\.keys\.0: proxy keys must be printable ASCII/)]);
  });

  it("refuses an upstream key of only spaces or with a line break, which no request could carry", () => {
    expect(problemsOf(() => loadConfig({ GENERATOR_API_KEY: " " }, JSON.stringify(minimal)))).toEqual([expect.stringMatching(/^generator\.api_key \(from GENERATOR_API_KEY\): must not be empty or only spaces/)]);
    expect(problemsOf(() => loadConfig({ JUDGE_API_KEY: "sk-abc\n" }, JSON.stringify(minimal)))).toEqual([expect.stringMatching(/^judge\.api_key \(from JUDGE_API_KEY\): must not hold a line break/)]);
  });

  it("refuses a key no header can carry (a control character, a letter beyond ASCII), which would fail every call as unreachable", () => {
    for (const key of ["rs-SECRET\x7fKEY", "sk-\u0001abcdef", "ключ-судьи-1", "sk-price-10€"]) {
      expect(problemsOf(() => loadConfig({ JUDGE_API_KEY: key }, JSON.stringify(minimal)))).toEqual([expect.stringMatching(/^judge\.api_key \(from JUDGE_API_KEY\): must be printable ASCII/)]);
    }
    const header = problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, tracing: { otlp_endpoint: "http://127.0.0.1:9", headers: { "x-team": "команда" } } })));
    expect(header).toEqual([expect.stringMatching(/^tracing\.headers\.x-team: must be printable ASCII/)]);
    expect(loadConfig({ JUDGE_API_KEY: "sk-a b\tc~" }, JSON.stringify(minimal)).judge.api_key).toBe("sk-a b\tc~");
  });

  it("refuses an empty server.host, on which Node would listen on every interface", () => {
    expect(problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, server: { host: "" } })))).toEqual([expect.stringMatching(/^server\.host: must name an address/)]);
    expect(loadConfig({}, JSON.stringify({ ...minimal, server: { host: "0.0.0.0" } })).server.host).toBe("0.0.0.0");
  });

  it("bounds the judgment cache's entries, for which room is set aside up front", () => {
    const problems = problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, cache: { max_entries: 4_294_967_296 } })));
    expect(problems).toEqual([expect.stringMatching(/^cache\.max_entries: /)]);
    expect(loadConfig({}, JSON.stringify({ ...minimal, cache: { max_entries: 1_000_000 } })).cache.max_entries).toBe(1_000_000);
  });

  it("refuses a timer setting past what a timer can wait, which would fire at once (1 ms)", () => {
    const tooLong = 2 ** 31;
    const settings = { ...minimal, generator: { ...minimal.generator, timeout_ms: tooLong }, judge: { ...minimal.judge, timeout_ms: tooLong }, server: { keepalive_ms: tooLong }, timeouts: { request_ms: tooLong } };
    const problems = problemsOf(() => loadConfig({}, JSON.stringify(settings)));
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual(["generator.timeout_ms", "judge.timeout_ms", "server.keepalive_ms", "timeouts.request_ms"]);
    expect(problems[0]).toMatch(/at most 2147483647 ms/);
    expect(loadConfig({}, JSON.stringify({ ...minimal, generator: { ...minimal.generator, timeout_ms: tooLong - 1 } })).generator.timeout_ms).toBe(tooLong - 1);
  });

  it("refuses a trace in the defaults or a virtual model that the limits do not allow, which would refuse every request", () => {
    const problems = problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, defaults: { trace: true }, models: { vt: { model: "m", trace: true } } })));
    expect(problems).toEqual([expect.stringMatching(/^defaults\.trace: true needs limits\.allow_trace/), expect.stringMatching(/^models\.vt\.trace: true needs/)]);
    const allowed = { ...minimal, defaults: { trace: true }, limits: { allow_trace: true } };
    expect(loadConfig({}, JSON.stringify(allowed)).defaults.trace).toBe(true);
  });

  it("refuses an upstream URL with a user or password in it, which would be dropped and printed", () => {
    const problems = problemsOf(() => loadConfig({ GENERATOR_BASE_URL: "http://svc:secret-pw@127.0.0.1:9/v1" }, JSON.stringify(minimal)));
    expect(problems).toEqual([expect.stringMatching(/^generator\.base_url \(from GENERATOR_BASE_URL\): must not hold a user or password/)]);
    expect(problems.join("")).not.toContain("secret-pw");
  });

  it("refuses a service URL with a query or fragment, which every path would land after, and a collector URL with a password", () => {
    const query = problemsOf(() => loadConfig({ GENERATOR_BASE_URL: "http://127.0.0.1:9/v1?api-version=1&key=QKEY-123" }, JSON.stringify(minimal)));
    expect(query).toEqual([expect.stringMatching(/^generator\.base_url \(from GENERATOR_BASE_URL\): must not hold a query or fragment/)]);
    expect(query.join("")).not.toContain("QKEY-123");
    const fragment = problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, judge: { ...minimal.judge, base_url: "http://127.0.0.1:9/v1#x" } })));
    expect(fragment).toEqual([expect.stringMatching(/^judge\.base_url: must not hold a query or fragment/)]);
    const collector = problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, tracing: { otlp_endpoint: "http://u:OTLP-PW@127.0.0.1:9" } })));
    expect(collector).toEqual([expect.stringMatching(/^tracing\.otlp_endpoint: must not hold a user or password: put the key in tracing\.headers/)]);
  });

  it("hunts the metrics token and the collector's credential headers as secrets, not its other headers", () => {
    const config = loadConfig({}, JSON.stringify({ ...minimal, metrics: { token: "scrape-token-1" }, tracing: { otlp_endpoint: "http://127.0.0.1:9", headers: { authorization: "Bearer col-secret-2", "x-honeycomb-dataset": "verdict", "x-honeycomb-team-key": "team-key-3" } } }));
    const secrets = secretsOf(config);
    for (const secret of ["scrape-token-1", "Bearer col-secret-2", "col-secret-2", "team-key-3"]) expect(secrets).toContain(secret);
    expect(secrets).not.toContain("verdict");
  });

  it("refuses a metrics token or collector header that no request could carry, and a cache TTL past the bound of every *_ms", () => {
    expect(problemsOf(() => loadConfig({ METRICS_TOKEN: "   " }, JSON.stringify(minimal)))).toEqual([expect.stringMatching(/^metrics\.token \(from METRICS_TOKEN\): must not be empty/)]);
    const header = problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, tracing: { otlp_endpoint: "http://127.0.0.1:9", headers: { authorization: "Bearer a\nb" } } })));
    expect(header).toEqual([expect.stringMatching(/^tracing\.headers\.authorization: must not hold a line break/)]);
    expect(problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, cache: { ttl_ms: 2 ** 31 } })))).toEqual([expect.stringMatching(/^cache\.ttl_ms: must be at most 2147483647 ms/)]);
  });

  it("says which values a field of a few choices takes", () => {
    const problems = problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, generator: { ...minimal.generator, supports_n: "yes" }, cache: { backend: "memcached" } })));
    expect(problems).toEqual(['generator.supports_n: must be true, false or "auto"', 'cache.backend: must be "memory" or "redis"']);
  });

  it("names the environment variable that set a bad field", () => {
    const problems = problemsOf(() => loadConfig({ PORT: "abc", VERDICT_N: "four" }, JSON.stringify(minimal)));
    expect(problems).toEqual([expect.stringMatching(/^server\.port \(from PORT\): /), expect.stringMatching(/^defaults\.n \(from VERDICT_N\): /)]);
    expect(problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, server: { port: "abc" } })))).toEqual([expect.stringMatching(/^server\.port: /)]);
  });

  it("refuses half a rate limit", () => {
    const problems = problemsOf(() => loadConfig({}, JSON.stringify({ ...minimal, judge: { ...minimal.judge, interval_ms: 1_000 } })));
    expect(problems).toEqual([expect.stringMatching(/^judge\.interval_ms, judge\.interval_cap: a rate limit needs both/)]);
  });

  it("names each bad field at once", () => {
    const problems = problemsOf(() =>
      loadConfig({ PORT: "eighty" }, JSON.stringify({ generator: { base_url: "not a url" }, judge: {}, defaults: { n: 0 }, bogus: 1 })),
    );
    const text = problems.join("\n");
    expect(text).toMatch(/generator\.base_url/);
    expect(text).toMatch(/judge\.model/);
    expect(text).toMatch(/server\.port/);
    expect(text).toMatch(/defaults\.n/);
    expect(text).toMatch(/bogus/);
  });

  it("asks the root-signals backend for evaluators and a key, not for a model", () => {
    const problems = problemsOf(() => loadConfig({}, JSON.stringify({ generator: minimal.generator, judge: { backend: "root-signals" } })));
    expect(problems).toEqual([expect.stringMatching(/^judge\.evaluators:/), expect.stringMatching(/^judge\.api_key:.*ROOT_SIGNALS_API_KEY/)]);
    const config = loadConfig(
      { ROOT_SIGNALS_API_KEY: "k" },
      JSON.stringify({ generator: minimal.generator, judge: { backend: "root-signals", evaluators: { default: { name: "Helpfulness" } } } }),
    );
    expect(judgeEndpoint(config)).toEqual({ base_url: "https://api.app.rootsignals.ai", api_key: "k" });
  });

  it("says when the file is not JSON, without quoting it (the text may hold a key)", () => {
    expect(problemsOf(() => loadConfig({}, "{oops", "my.json"))[0]).toMatch(/my\.json: not valid JSON/);
    const unquoted = '{"generator": {"base_url": "http://x", "api_key": gsk_live_Tsecret123}}';
    expect(problemsOf(() => loadConfig({}, unquoted, "VERDICT_CONFIG_JSON")).join(" ")).not.toMatch(/gsk_live|secret/);
  });

  it("refuses a default n above the limit", () => {
    const problems = problemsOf(() => loadConfig({ VERDICT_N: "40" }, JSON.stringify(minimal)));
    expect(problems[0]).toMatch(/defaults\.n: 40 is above limits\.max_n/);
  });

  it("makes `verdict serve` exit non-zero with the bad fields named", async () => {
    const dir = mkdtempSync(join(tmpdir(), "verdict-config-"));
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ generator: { base_url: "ftp://x" }, judge: { model: "" } }));
    const run = promisify(execFile)("node", ["bin/verdict.mjs", "serve"], { env: { ...process.env, VERDICT_CONFIG: file } });
    const failure = await run.then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/invalid verdict configuration/);
    expect(failure?.stderr).toMatch(/generator\.base_url/);
    expect(failure?.stderr).toMatch(/judge\.model/);
  });
});
