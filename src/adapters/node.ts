// Node entry: read config once and fail fast, serve the app on node:http through @hono/node-server's listener (with the
// chat completions lane in front), drain in-flight requests on SIGTERM.
import { getRequestListener, type Http2Bindings, type HttpBindings } from "@hono/node-server";
import { setMaxListeners } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createApp, createAppContext, type Logger } from "../app";
import { ConfigError, ROOT_SIGNALS_BASE_URL, type Config } from "../config";
import { dropEvent, LOG_LEVELS, TIMER_MAX_MS, type LogLevel } from "../observe/config";
import { createObservability } from "../observe/setup";
import { setBreakOff } from "../util/break-off";
import { createNodeCache } from "./node-cache";
import { answerClientError } from "./node-client-error";
import { drainable } from "./node-drain";
import { stdioSink, type LogSink } from "./log-sink";
import { createNodeTransport } from "./node-fetch";
import { chatCompletionsLane, continueOrRefuse } from "./node-chat-lane";
import { bodyAdmission } from "./node-admission";

/**
 * Every upstream call of a request listens on the request's abort signal while it runs, so a best-of-16 round-robin has
 * hundreds of legitimate listeners at once. Node warns past 10; each listener is removed when its call ends
 * (src/chat-call.ts, and withCallSignal in src/upstream.ts for SDK calls), so the warning would only be noise.
 */
export const MAX_LISTENERS_PER_SIGNAL = 1_000;
setMaxListeners(MAX_LISTENERS_PER_SIGNAL);

type Env = Record<string, string | undefined>;

/**
 * The time as toISOString gives it, with the part up to the second formatted once per second: a Date and its
 * toISOString for every log line were about 1% of a pass-through's CPU.
 */
export function isoClock(now: () => number = Date.now): () => string {
  let second = NaN;
  let upToSecond = "";
  return () => {
    const ms = Math.trunc(now()); // as Date takes a time: a clock with fractions (performance's) gives whole ms
    const at = Math.floor(ms / 1_000);
    if (at !== second) {
      second = at;
      upToSecond = new Date(at * 1_000).toISOString().slice(0, -4); // "2026-11-29T10:00:00."
    }
    return `${upToSecond}${String(ms - at * 1_000).padStart(3, "0")}Z`;
  };
}

/**
 * One JSON object per line; events below `level` are dropped (dropEvent: nothing of them is serialised). debug and
 * info go to stdout, warn and error to stderr. `time` is the clock's ISO time (the clock in ms since the epoch).
 */
export function createJsonLogger(level: LogLevel = "info", sink: LogSink = stdioSink(), now: () => number = Date.now): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const isoTime = isoClock(now);
  const writer = (name: LogLevel, write: (line: string) => void) =>
    LOG_LEVELS.indexOf(name) < threshold
      ? dropEvent
      : (event: Record<string, unknown>, serialised?: string) => {
          const time = isoTime();
          // An event already serialised (by the redacting logger) gets level and time spliced in front: once parsed,
          // the same as serialising `{ level, time, ...event }`, without doing that again. (An event with its own level
          // or time would repeat the key, which parsers read as the event's; none of verdict's events has either.)
          if (serialised !== undefined && serialised.length > 2 && serialised[0] === "{") {
            write(`{"level":"${name}","time":"${time}",${serialised.slice(1)}`);
          } else write(JSON.stringify({ level: name, time, ...event }));
        };
  return { debug: writer("debug", sink.out), info: writer("info", sink.out), warn: writer("warn", sink.err), error: writer("error", sink.err) };
}

export const jsonLogger: Logger = createJsonLogger("info");

export interface ConfigSource {
  fileText?: string;
  fileName: string;
}

/** VERDICT_CONFIG names the file; without it, ./verdict.config.json is used when present. */
export function readConfigFile(env: Env, cwd = process.cwd()): ConfigSource {
  const named = env.VERDICT_CONFIG || undefined;
  const fileName = named ?? `${cwd}/verdict.config.json`;
  if (named === undefined && !existsSync(fileName)) return { fileName: "(no config file)" };
  try {
    return { fileText: readFileSync(fileName, "utf8"), fileName };
  } catch (err) {
    throw new ConfigError([`VERDICT_CONFIG: cannot read ${fileName} (${(err as NodeJS.ErrnoException).code ?? err})`]);
  }
}

/** True when neither the file nor the environment names a generator: the quick start then uses the simulator. */
export function upstreamConfigured(env: Env, source: ConfigSource): boolean {
  if (env.GENERATOR_BASE_URL) return true;
  if (source.fileText === undefined) return false;
  try {
    const raw = JSON.parse(source.fileText) as { generator?: { base_url?: unknown } };
    return raw.generator?.base_url !== undefined;
  } catch {
    return true; // let loadConfig report the broken file
  }
}

/**
 * The judge's URL when the environment or the file names one, Root Signals' when that backend is chosen; undefined
 * when the judge is left to default (to the generator's URL, or the simulator's in the quick start).
 */
export function configuredJudgeUrl(env: Env, source: ConfigSource): string | undefined {
  if (env.JUDGE_BASE_URL) return env.JUDGE_BASE_URL;
  let judge: { base_url?: unknown; backend?: unknown } | undefined;
  try {
    judge = source.fileText === undefined ? undefined : (JSON.parse(source.fileText) as { judge?: typeof judge }).judge;
  } catch {
    judge = undefined; // loadConfig reports the broken file
  }
  if (typeof judge?.base_url === "string") return judge.base_url;
  return (env.JUDGE_BACKEND ?? judge?.backend) === "root-signals" ? ROOT_SIGNALS_BASE_URL : undefined;
}

export interface RunningProxy {
  url: string;
  config: Config;
  /** Where judgments are cached ("memory", or "memory + redis at redis://host:port"). */
  cache: string;
  close(): Promise<void>;
}

/** A host as a URL writes it: an IPv6 address in brackets ("http://[::1]:8787"), where its colons would read as a port. */
export function hostInUrl(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** `transport`: how upstreams are reached; another only where a benchmark answers them in process (bench/instructions-work.ts). */
export async function startProxy(
  config: Config,
  logger: Logger = createJsonLogger(config.log.level),
  transport: ReturnType<typeof createNodeTransport> = createNodeTransport(),
): Promise<RunningProxy> {
  const judgments = createNodeCache(config, logger);
  await judgments.ready;
  // Built here rather than inside the app so that closing can flush the spans still buffered.
  const { metrics, tracer } = createObservability(config, globalThis.fetch.bind(globalThis), {});
  const deps = { config, logger, metrics, tracer, cache: judgments.cache, ...transport };
  const ctx = createAppContext(deps);
  // hostname: what the app takes as the host of a request that names none (HTTP/1.0 clients).
  const app = createApp(deps, ctx);
  // A pass-through body that breaks midway ends by its socket (src/util/break-off.ts says why).
  const fetch = (request: Request, env: HttpBindings | Http2Bindings) => (setBreakOff(request, () => env.outgoing.destroy()), app.fetch(request, env));
  const listener = getRequestListener(fetch, { hostname: config.server.host });
  // Chat completions the app would accept are answered before it (src/adapters/node-chat-lane.ts); the rest by it.
  const lane = chatCompletionsLane(ctx, listener);
  // Every request passes the bound on bodies held at once first, one waiting for 100-continue before its go-ahead.
  const admitted = bodyAdmission(ctx);
  const server = createServer(admitted(lane));
  const drain = drainable(server);
  server.on("checkContinue", admitted(continueOrRefuse(ctx, lane)));
  server.on("clientError", answerClientError);
  // A backstop for headers still arriving a second past the budget: Node's own 408 (it checks every 30 s, and only
  // headers; bodies are read within the budget by the chat lane and the app, src/budget.ts readWithinBudget).
  server.requestTimeout = config.timeouts.request_ms + 1_000;
  // A connection on which nothing moves either way for longer than any wait verdict allows (a request's budget, an
  // upstream's silence mid-stream) is ended: most often a client that stopped reading but stayed connected, whose
  // answer (a reranked one is written whole) Node would otherwise hold in memory until it left. Node sets no such
  // limit by default; nginx's send_timeout is the same idea.
  // (At most the longest timer: past it Node warns on every connection and waits that long anyway.)
  server.timeout = Math.min(Math.max(config.timeouts.request_ms, config.generator.timeout_ms) + 1_000, TIMER_MAX_MS);
  return new Promise((resolve, reject) => {
    const cannotListen = (err: NodeJS.ErrnoException) => {
      void judgments.close();
      reject(listenFailure(err, config.server));
    };
    server.once("error", cannotListen);
    server.listen(config.server.port, config.server.host, () => {
      server.off("error", cannotListen); // later server errors are not about listening
      resolve({
        url: `http://${hostInUrl(config.server.host)}:${(server.address() as AddressInfo).port}`,
        config,
        cache: judgments.description,
        close: () => drain.close()
            .then(() => tracer.flush())
            .then(() => judgments.close()),
      });
    });
  });
}

/** Why the server cannot listen, as a configuration problem naming the field to change (not an unhandled error). */
function listenFailure(err: NodeJS.ErrnoException, { host, port }: Config["server"]): Error {
  if (err.code === "EADDRINUSE") return new ConfigError([`server.port: ${port} is already in use on ${host}`]);
  if (err.code === "EACCES") return new ConfigError([`server.port: not allowed to listen on ${port} (ports below 1024 need privileges)`]);
  if (err.code === "ENOTFOUND" || err.code === "EAI_AGAIN" || err.code === "EADDRNOTAVAIL") {
    return new ConfigError([`server.host: cannot listen on ${host} (${err.code}: not an address of this machine)`]);
  }
  return err;
}

/** Stops taking new connections on SIGTERM/SIGINT, lets in-flight requests finish, then exits; a second signal forces. */
export function closeOnSignals(running: { close(): Promise<void> }, logger: Logger, graceMs = 30_000): void {
  let closing = false;
  // Requests cut off by a forced exit get no log line of their own: this one says they were.
  const forced = (reason: string) => {
    logger.warn({ event: "shutdown_forced", reason });
    process.exit(1);
  };
  const stop = (signal: string) => {
    if (closing) return forced(`a second ${signal}`);
    closing = true;
    logger.info({ event: "shutdown", signal });
    const force = setTimeout(() => forced(`requests still running ${graceMs} ms after ${signal}`), graceMs);
    force.unref();
    void running.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
