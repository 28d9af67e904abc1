// `verdict serve | sim`: the command line. Parses flags, wires the Node adapter, prints errors people can act on.
import { parseArgs } from "node:util";
import { closeOnSignals, configuredJudgeUrl, jsonLogger, readConfigFile, startProxy, upstreamConfigured } from "./adapters/node";
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
    simulator = await startSimulator({ judge: { accuracy: 0.9, bias: 0.05 }, record_requests: false });
    env.GENERATOR_BASE_URL = simulator.url;
    // The simulator judges too only when no judge is configured: a configured judge keeps its own model (or is refused
    // without one), never sent the simulator's name.
    if (configuredJudgeUrl(env, source) === undefined) env.JUDGE_MODEL ??= "sim-judge";
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

/** A command line mistake: its message and the usage go to stderr, and the exit code is 2. */
class UsageError extends Error {}

const wantsHelp = (args: string[]) => args.includes("--help") || args.includes("-h");

/** A flag's number, refused when it is not one: `--port abc` must not become port NaN. */
function numberFlag(name: string, value: string | undefined, check: (n: number) => boolean): number {
  const n = Number(value);
  if (value === undefined || value.trim() === "" || !Number.isFinite(n) || !check(n)) throw new UsageError(`verdict sim: --${name} ${value ?? ""} is not a valid value`);
  return n;
}

const SIM_OPTIONS = {
  port: { type: "string", default: "8788" },
  seed: { type: "string", default: "1" },
  accuracy: { type: "string", default: "1" },
  bias: { type: "string", default: "0" },
  "no-n": { type: "boolean", default: false },
  "ttft-ms": { type: "string", default: "0" },
  "tokens-per-second": { type: "string", default: "0" },
} as const;

function simFlags(args: string[]) {
  try {
    return parseArgs({ args, options: SIM_OPTIONS }).values;
  } catch (err) {
    throw new UsageError(`verdict sim: ${(err as Error).message}`);
  }
}

async function simCommand(args: string[]): Promise<void> {
  const values = simFlags(args);
  const fraction = (n: number) => n >= 0 && n <= 1;
  const atLeastZero = (n: number) => n >= 0;
  const latency = {
    ttft_ms: numberFlag("ttft-ms", values["ttft-ms"], atLeastZero),
    tokens_per_second: numberFlag("tokens-per-second", values["tokens-per-second"], atLeastZero),
  };
  const port = numberFlag("port", values.port, (n) => Number.isInteger(n) && n >= 0 && n <= 65535);
  const running = await startSimulator(
    {
      seed: numberFlag("seed", values.seed, Number.isInteger),
      supports_n: !values["no-n"],
      generator: { latency },
      judge: { accuracy: numberFlag("accuracy", values.accuracy, fraction), bias: numberFlag("bias", values.bias, fraction), latency },
      // Nothing reads the records of a simulator run from the command line; kept, they would grow with every call.
      record_requests: false,
    },
    port,
  ).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "EADDRINUSE") throw new ConfigError([`--port: ${port} is already in use on 127.0.0.1`]);
    if (err.code === "EACCES") throw new ConfigError([`--port: not allowed to listen on ${port} (ports below 1024 need privileges)`]);
    throw err;
  });
  console.log(`verdict simulator (not a model) listening on ${running.url}`);
  closeOnSignals(running, jsonLogger);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  // Help asked for is an answer, on stdout; `verdict serve --help` must print it, not start a server.
  if (command === "--help" || command === "-h" || command === "help" || ((command === "serve" || command === "sim") && wantsHelp(rest))) {
    console.log(USAGE);
    return;
  }
  if (command === "serve") {
    if (rest.length > 0) throw new UsageError(`verdict serve takes no arguments (got ${rest.join(" ")}); it reads its config file and environment`);
    return serveCommand();
  }
  if (command === "sim") return simCommand(rest);
  if (command === "eval") return process.exit(await evalCommand(rest));
  throw new UsageError(command === undefined ? "verdict: no command given" : `verdict: unknown command ${command}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(`verdict: ${(err as Error)?.stack ?? err}`);
  process.exit(1);
});
