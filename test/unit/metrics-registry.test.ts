// The metrics registry renders valid exposition text (checked by a strict parser that itself rejects broken text).
import { describe, expect, it } from "vitest";
import { createRegistry } from "../../src/metrics/registry";
import { createVerdictMetrics } from "../../src/metrics/verdict";
import { parseExposition, sampleValue } from "../prom-parse";

describe("the strict exposition parser", () => {
  const valid = [
    "# HELP x_total Things.",
    "# TYPE x_total counter",
    'x_total{a="1"} 2',
    "# HELP h Time.",
    "# TYPE h histogram",
    'h_bucket{le="1"} 1',
    'h_bucket{le="+Inf"} 2',
    "h_sum 3.5",
    "h_count 2",
    "",
  ].join("\n");

  it("accepts well-formed text", () => {
    const families = parseExposition(valid);
    expect(sampleValue(families, "x_total", { a: "1" })).toBe(2);
    expect(families.get("h")!.type).toBe("histogram");
  });

  it.each([
    ["a sample before its TYPE", valid.replace("# TYPE x_total counter\n", "")],
    ["an unescaped quote in a label value", valid.replace('a="1"', 'a="1"2"')],
    ["an unknown escape", valid.replace('a="1"', 'a="\\t"')],
    ["a bad value", valid.replace("x_total{a=\"1\"} 2", "x_total{a=\"1\"} two")],
    ["a +Inf bucket that differs from _count", valid.replace("h_count 2", "h_count 3")],
    ["buckets that are not cumulative", valid.replace('h_bucket{le="1"} 1', 'h_bucket{le="1"} 5')],
    ["a repeated series", valid.replace("x_total{a=\"1\"} 2", "x_total{a=\"1\"} 2\nx_total{a=\"1\"} 3")],
    ["a family split in two", `${valid}x_total{a="2"} 1\n`],
    ["no final newline", valid.trimEnd()],
    ["a missing _sum", valid.replace("h_sum 3.5\n", "")],
    ["a free comment", `# hello\n${valid}`],
  ])("rejects %s", (_, text) => {
    expect(() => parseExposition(text)).toThrow();
  });
});

describe("registry", () => {
  it("escapes label values and HELP text so they read back unchanged", () => {
    const registry = createRegistry();
    const tricky = 'quote " backslash \\ newline \n end';
    registry.counter("t_total", "Help with \\ and\nnewline.", ["v"]).inc([tricky], 3);
    const families = parseExposition(registry.render());
    expect(sampleValue(families, "t_total", { v: tricky })).toBe(3);
    expect(families.get("t_total")!.help).toBe("Help with \\ and\nnewline.");
  });

  it("renders histograms cumulatively with +Inf equal to the count", () => {
    const registry = createRegistry();
    const h = registry.histogram("d_seconds", "Durations.", ["r"], [0.1, 1]);
    for (const v of [0.05, 0.1, 0.5, 3]) h.observe(["x"], v);
    const families = parseExposition(registry.render());
    expect(sampleValue(families, "d_seconds_bucket", { r: "x", le: "0.1" })).toBe(2);
    expect(sampleValue(families, "d_seconds_bucket", { r: "x", le: "1" })).toBe(3);
    expect(sampleValue(families, "d_seconds_bucket", { r: "x", le: "+Inf" })).toBe(4);
    expect(sampleValue(families, "d_seconds_sum", { r: "x" })).toBeCloseTo(3.65);
  });

  it("shows label-less families at zero before anything happened, and gauges read at scrape time", () => {
    const registry = createRegistry();
    registry.counter("n_total", "N.");
    let depth = 3;
    registry.gauge("q", "Q.", ["u"]).track(["judge"], () => depth);
    expect(sampleValue(parseExposition(registry.render()), "n_total")).toBe(0);
    depth = 7;
    expect(sampleValue(parseExposition(registry.render()), "q", { u: "judge" })).toBe(7);
  });

  it("refuses what would break the format: bad names, reserved labels, negative counter steps, duplicates", () => {
    const registry = createRegistry();
    expect(() => registry.counter("bad-name", "x")).toThrow();
    expect(() => registry.histogram("h", "x", ["le"], [1])).toThrow();
    const c = registry.counter("c_total", "x");
    expect(() => c.inc([], -1)).toThrow();
    expect(() => registry.counter("c_total", "x")).toThrow();
  });
});

describe("the guard hook", () => {
  it("counts PASS and FAIL checks and abstentions (for the guard strategy to call)", () => {
    const metrics = createVerdictMetrics();
    metrics.guard("PASS");
    metrics.guard("FAIL");
    metrics.guard("FAIL");
    metrics.guard("abstain");
    const families = parseExposition(metrics.render()!);
    expect(sampleValue(families, "verdict_guard_checks_total", { verdict: "PASS" })).toBe(1);
    expect(sampleValue(families, "verdict_guard_checks_total", { verdict: "FAIL" })).toBe(2);
    expect(sampleValue(families, "verdict_guard_abstentions_total")).toBe(1);
  });
});
