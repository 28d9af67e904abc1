// Runs the simulator as a real HTTP server on loopback (for `verdict sim`, the README quick start and benchmarks).
import { serve } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { createSimulator, type Simulator } from "./server";
import type { SimOptionsInput } from "./options";

export interface RunningSimulator {
  url: string;
  sim: Simulator;
  close(): Promise<void>;
}

export function startSimulator(options: SimOptionsInput = {}, port = 0, host = "127.0.0.1"): Promise<RunningSimulator> {
  const sim = createSimulator(options);
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: sim.app.fetch, port, hostname: host }, (info: AddressInfo) => {
      server.off("error", reject);
      resolve({
        url: `http://${host}:${info.port}/v1`,
        sim,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
    // A port in use (or not allowed) is the caller's to report, not an unhandled 'error' event.
    server.once("error", reject);
  });
}
