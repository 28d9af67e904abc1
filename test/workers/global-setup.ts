// Starts the simulator on 127.0.0.1 in Node for the workers project and hands its URL to the worker's bindings.
import type { TestProject } from "vitest/node";
import { startSimulator } from "../sim/start";

declare module "vitest" {
  export interface ProvidedContext {
    simUrl: string;
  }
}

export default async function setup(project: TestProject) {
  // No `n` support: best-of-N becomes N parallel calls, which is what the per-request bound is about.
  // A little latency so calls overlap and the peak concurrency means something.
  const latency = { ttft_ms: 25 };
  const running = await startSimulator({ supports_n: false, generator: { latency }, judge: { latency } });
  project.provide("simUrl", running.url);
  return () => running.close();
}
