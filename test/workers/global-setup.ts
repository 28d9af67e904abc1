// Starts the simulator (and a stand-in OTLP collector) on 127.0.0.1 in Node for the workers project and hands their
// URLs to the worker's bindings and to the tests (`inject`).
import type { TestProject } from "vitest/node";
import { startSimulator } from "../sim/start";
import { startCodedUpstream } from "./coded-upstream";
import { startCollector } from "./collector";

declare module "vitest" {
  export interface ProvidedContext {
    simUrl: string;
    collectorUrl: string;
    codedUrl: string;
  }
}

export default async function setup(project: TestProject) {
  // No `n` support: best-of-N becomes N parallel calls, which is what the per-request bound is about.
  // A little latency so calls overlap and the peak concurrency means something.
  const latency = { ttft_ms: 25 };
  const running = await startSimulator({ supports_n: false, generator: { latency }, judge: { latency } });
  project.provide("simUrl", running.url);
  const collector = await startCollector();
  project.provide("collectorUrl", collector.url);
  const coded = await startCodedUpstream();
  project.provide("codedUrl", coded.url);
  return async () => {
    await running.close();
    await collector.close();
    await coded.close();
  };
}
