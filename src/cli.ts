// `verdict serve | sim`: the command line. Parses flags, wires the Node adapter, prints errors people can act on.
import { parseArgs } from "node:util";
import { closeOnSignals, jsonLogger, readConfigFile, startProxy, upstreamConfigured } from "./adapters/node";
import { ConfigError, judgeEndpoint, loadConfig } from "./config";
import { EVAL_USAGE, evalCommand } from "./eval/command";
import { startSimulator } from "../test/sim/start";

const USAGE = `usage:
  verdict serve            run the proxy (config: VERDICT_CONFIG or ./verdict.config.json, plus env overrides)
  verdict sim [--port N] [--seed N] [--accuracy P] [--bias P] [--no-n] [--ttft-ms MS] [--tokens-per-second R]
                           run the simulated upstream (generator and judge) on 127.0.0.1
  ${EVAL_USAGE.replace(/\n/g, "\n  ")}`;

async function serveCommand(): Promise<void> {
  const env = { ...process.env };
  const source = readConfigFile(env);
  let simulator: Awaited<ReturnType<typeof startSimulator>> | null = null;
  if (!upstreamConfigured(env, source)) {
    simulator = await startSimulator({ judge: { accuracy: 0.9, bias: 0.05 } });
    env.GENERATOR_BASE_URL = simulator.url;
    env.JUDGE_MODEL ??= "sim-judge";
  }
  const config = loadConfig(env, source.fileText, source.fileName);
  const judge = judgeEndpoint(config);
  if (simulator) {
    // The judge is the simulator's too unless the config names one of its own (a judge URL, or Root Signals).
    const judgedBy = judge.base_url === simulator.url ? " and its judge is a scripted stand-in, not a model" : "";
    console.log(
      `verdict: no generator configured (GENERATOR_BASE_URL or verdict.config.json), so it is using the built-in ` +
        `SIMULATOR at ${simulator.url}. Its answers are seeded filler text${judgedBy}.`,
    );
  }
  const proxy = await startProxy(config);
  const judgeLabel = config.judge.backend === "root-signals" ? `root-signals at ${judge.base_url}` : config.judge.model;
  console.log(
    `verdict listening on ${proxy.url}/v1 (generator ${config.generator.base_url}, judge ${judgeLabel}, ` +
      `default n=${config.defaults.n}, strategy ${config.defaults.strategy}, judgment cache ${proxy.cache})`,
  );
  closeOnSignals(
    { close: async () => (await proxy.close(), await simulator?.close()) },
    jsonLogger,
  );
}

async function simCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string", default: "8788" },
      seed: { type: "string", default: "1" },
      accuracy: { type: "string", default: "1" },
      bias: { type: "string", default: "0" },
      "no-n": { type: "boolean", default: false },
      "ttft-ms": { type: "string", default: "0" },
      "tokens-per-second": { type: "string", default: "0" },
    },
  });
  const latency = { ttft_ms: Number(values["ttft-ms"]), tokens_per_second: Number(values["tokens-per-second"]) };
  const running = await startSimulator(
    {
      seed: Number(values.seed),
      supports_n: !values["no-n"],
      generator: { latency },
      judge: { accuracy: Number(values.accuracy), bias: Number(values.bias), latency },
    },
    Number(values.port),
  );
  console.log(`verdict simulator (not a model) listening on ${running.url}`);
  closeOnSignals(running, jsonLogger);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === "serve") return serveCommand();
  if (command === "sim") return simCommand(rest);
  if (command === "eval") return process.exit(await evalCommand(rest));
  console.error(USAGE);
  process.exit(command === undefined || command === "--help" ? 0 : 2);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(`verdict: ${(err as Error)?.stack ?? err}`);
  process.exit(1);
});
