// Config of metrics, logs and tracing: safe defaults, env overrides, refusals naming the field.
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config";

const minimal = { generator: { base_url: "http://127.0.0.1:9/v1" }, judge: { model: "root-judge" } };

describe("observability config", () => {
  it("defaults to metrics on without a token, info logs without content, no tracing, traces refused", () => {
    const config = loadConfig({}, JSON.stringify(minimal));
    expect(config.metrics).toEqual({ enabled: true });
    expect(config.log).toEqual({ level: "info", content: false });
    expect(config.tracing.otlp_endpoint).toBeUndefined();
    expect(config.tracing).toMatchObject({ service_name: "verdict", sample_ratio: 1, headers: {} });
    expect(config.limits.allow_trace).toBe(false);
  });

  it("takes LOG_LEVEL, METRICS_TOKEN and OTEL_EXPORTER_OTLP_ENDPOINT from the environment", () => {
    const config = loadConfig(
      { LOG_LEVEL: "debug", METRICS_TOKEN: "t0k", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" },
      JSON.stringify(minimal),
    );
    expect(config.log.level).toBe("debug");
    expect(config.metrics.token).toBe("t0k");
    expect(config.tracing.otlp_endpoint).toBe("http://127.0.0.1:4318");
  });

  it("names each bad field", () => {
    const bad = { ...minimal, log: { level: "verbose" }, tracing: { sample_ratio: 2, otlp_endpoint: "ftp://x" }, metrics: { token: "" } };
    try {
      loadConfig({}, JSON.stringify(bad));
      throw new Error("expected a ConfigError");
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const fields = (err as ConfigError).problems.map((p) => p.split(":")[0]);
      expect(fields).toEqual(expect.arrayContaining(["log.level", "tracing.sample_ratio", "tracing.otlp_endpoint", "metrics.token"]));
    }
  });
});
