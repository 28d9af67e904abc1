// Upstream calls leave nothing on the request's abort signal when they end. A best-of-16 makes hundreds of calls on one
// signal; a listener left behind per call would pile up for the whole request (src/upstream.ts, withCallSignal).
import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import type { Candidate } from "../../strategies/types";
import { loadConfig } from "../../src/config";
import { createJudgeBackend, createJudgeUpstream } from "../../src/judge/create";
import { drawCandidates } from "../../src/sample";
import { createUpstream } from "../../src/upstream";
import { abortWatchers } from "../../src/util/abort-watch";
import { createRootSignalsFake } from "../fakes/root-signals";
import { createSimulator } from "../sim/server";
import { fetchInto, SIM_URL, testConfig } from "../helpers";

const conversation = [{ role: "user" as const, content: "Explain why the sky is blue." }];
const candidate = (index: number, text: string): Candidate => ({ index, text, message: { role: "assistant", content: text }, finish_reason: "stop", duplicates: [] });
const a = candidate(0, "Rayleigh scattering makes short wavelengths scatter most.");
const b = candidate(1, "Because it reflects the ocean.");

/**
 * Runs `call` three times, one after another, on one signal that never aborts; returns what still waits on it. Calls
 * follow the signal through src/util/abort-watch.ts: its one listener may stay, holding no call.
 */
async function leftListening(call: (signal: AbortSignal) => Promise<unknown>): Promise<number> {
  const signal = new AbortController().signal;
  for (let i = 0; i < 3; i++) await call(signal);
  expect(getEventListeners(signal, "abort").length).toBeLessThanOrEqual(1);
  return abortWatchers(signal);
}

describe("listeners on the request's signal", () => {
  const sim = createSimulator();
  const fetch = fetchInto(sim.app);
  const config = testConfig();

  it("none after judge calls (the lean chat call)", async () => {
    const backend = createJudgeBackend(config, createJudgeUpstream(config, fetch));
    expect(await leftListening((signal) => backend.comparePair({ conversation, a, b }, signal, { memo: new Map(), headers: {} }))).toBe(0);
  });

  const draws = (stream: boolean) => (signal: AbortSignal) => {
    const generator = createUpstream("generator", { ...config.generator }, fetch);
    const body = { model: "sim-generator", messages: conversation };
    return drawCandidates({ upstream: generator, body, n: 2, nSupport: { value: true }, signal, stream }).done;
  };

  it("none after candidate draws (the lean chat call)", async () => {
    expect(await leftListening(draws(false))).toBe(0);
  });

  it("none after streamed draws (the openai SDK)", async () => {
    expect(await leftListening(draws(true))).toBe(0);
  });

  it("none after Root Signals judge calls (the openai SDK)", async () => {
    const key = "rs-secret-key-9f3a";
    const fake = createRootSignalsFake(key, { Quality: { id: "ev-quality", kind: "quality" } });
    const rsConfig = loadConfig(
      { ROOT_SIGNALS_API_KEY: key },
      JSON.stringify({ generator: { base_url: SIM_URL }, judge: { backend: "root-signals", base_url: "https://rs.test", evaluators: { default: { name: "Quality" } } } }),
    );
    const backend = createJudgeBackend(rsConfig, createJudgeUpstream(rsConfig, fetchInto(fake.app)));
    const score = (signal: AbortSignal) => backend.scoreRubric({ conversation, candidate: a, rubric: "Is it correct?", scale: 10 }, signal, { memo: new Map(), headers: {} });
    expect(await leftListening(score)).toBe(0);
    expect(fake.runs).toHaveLength(3);
  });
});
