// `verdict eval`: runs the configured judge over a data set and writes a JSON and an HTML report. Node only (CLI).
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { configuredJudgeUrl, readConfigFile, upstreamConfigured } from "../adapters/node";
import { createMemoryCache } from "../cache/memory";
import { ConfigError, loadConfig, type Config } from "../config";
import { createRedactor } from "../redact";
import { startSimulator } from "../../test/sim/start";
import { loadItems, type EvalTask } from "./data";
import { evalJudge } from "./judge";
import { summarise } from "./metrics";
import { leftOut, renderReport } from "./report";
import { gotVerdict, runEval, type ItemResult } from "./run";

export const EVAL_USAGE = `verdict eval --task grounding|pairwise --data FILE [--limit N] [--seed N] [--out DIR] [--concurrency N] [--sim]
  grounding: HaluEval QA (knowledge, question, right_answer, hallucinated_answer) or HaluBench (passage, question, answer, label) JSONL
  pairwise:  LLMBar JSON (input, output_1, output_2, label)
  The judge is the configured one (JUDGE_BASE_URL, JUDGE_MODEL, JUDGE_API_KEY or the config file); --sim uses the
  built-in simulator instead, whose verdicts are a scripted stand-in, not a model.
  Exit code: 0 done, 1 no item got a readable verdict (judge unreachable or never decided), 2 bad arguments, data or
  config, 130 interrupted.`;

/** Accuracy so far over the items with a readable verdict, as the final figure counts it. */
function progress(total: number): (result: ItemResult, done: number) => void {
  let right = 0;
  let scored = 0;
  const every = Math.max(1, Math.floor(total / 10));
  return (result, done) => {
    if (gotVerdict(result)) {
      right += result.score;
      scored += 1;
    }
    const accuracy = scored === 0 ? "n/a" : `${((100 * right) / scored).toFixed(1)}%`;
    const skipped = done - scored;
    const line = `${done}/${total} items, accuracy so far ${accuracy}${skipped ? ` (${skipped} without a verdict left out)` : ""}`;
    if (process.stdout.isTTY) {
      const filled = Math.round((30 * done) / total);
      process.stdout.write(`\r[${"#".repeat(filled)}${".".repeat(30 - filled)}] ${line}   ${done === total ? "\n" : ""}`);
    } else if (done % every === 0 || done === total) {
      console.log(line);
    }
  };
}

class UsageError extends Error {}

/** A whole number from an option, or a usage error: Number("abc") is NaN, which would quietly run nothing. */
function wholeNumber(name: string, text: string | undefined, positive: boolean): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || (positive && value < 1)) {
    throw new UsageError(`--${name} must be ${positive ? "a positive integer" : "an integer"} (got "${text}")`);
  }
  return value;
}

function parseEvalArgs(args: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        task: { type: "string" },
        data: { type: "string" },
        limit: { type: "string" },
        seed: { type: "string" },
        out: { type: "string", default: "eval-out" },
        concurrency: { type: "string", default: "8" },
        sim: { type: "boolean", default: false },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message); // an unknown or valueless option
  }
  const task = values.task as EvalTask | undefined;
  if (task !== "grounding" && task !== "pairwise") throw new UsageError("--task must be grounding or pairwise");
  if (!values.data) throw new UsageError("--data is required");
  return {
    task,
    data: values.data,
    out: values.out,
    sim: values.sim,
    limit: wholeNumber("limit", values.limit, true),
    seed: wholeNumber("seed", values.seed, false),
    concurrency: wholeNumber("concurrency", values.concurrency, true)!,
  };
}

/** A config that cannot be read or is invalid is the user's to fix, as a bad argument is (exit 2): said, not thrown. */
function configProblem(err: unknown): number {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`verdict eval: ${err.message}`);
  return 2;
}

export async function evalCommand(args: string[]): Promise<number> {
  // Asked for, the usage is an answer, not a mistake: on stdout, exit code 0.
  if (args.includes("--help") || args.includes("-h")) {
    console.log(EVAL_USAGE);
    return 0;
  }
  let options: ReturnType<typeof parseEvalArgs>;
  try {
    options = parseEvalArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`verdict eval: ${err.message}\n${EVAL_USAGE}`);
    return 2;
  }
  const { task, data } = options;
  let items: ReturnType<typeof loadItems>;
  try {
    items = loadItems(task, readFileSync(data, "utf8"), data, options.limit, options.seed);
  } catch (err) {
    // A bad data file is the user's to fix: its message names the line, a stack trace would only hide it.
    console.error(`verdict eval: ${(err as Error).message}`);
    return 2;
  }
  if (items.length === 0) {
    console.error(`verdict eval: ${data} holds no rows to judge`);
    return 2;
  }
  // The report's files first: a run must not be paid for and then lost to an --out that cannot be written. Nothing is
  // created but the directory: a run that stops before judging leaves no empty report for a script to read.
  const base = join(options.out, `${task}-report`);
  const reports = { json: `${base}.json`, html: `${base}.html` };
  try {
    mkdirSync(options.out, { recursive: true });
    accessSync(options.out, constants.W_OK);
    for (const file of Object.values(reports)) {
      if (existsSync(file)) closeSync(openSync(file, "r+")); // refuses a directory or a file it may not write
    }
  } catch (err) {
    console.error(`verdict eval: cannot write the report to ${options.out}: ${(err as Error).message}`);
    return 2;
  }
  const env = { ...process.env };
  let source: ReturnType<typeof readConfigFile>;
  try {
    source = readConfigFile(env);
  } catch (err) {
    return configProblem(err);
  }
  let borrowedUrl = false;
  let simulator: Awaited<ReturnType<typeof startSimulator>> | null = null;
  if (options.sim) {
    simulator = await startSimulator({ judge: { accuracy: 0.85, bias: 0.1, grounding_error_rate: 0.1 }, record_requests: false });
    // The simulator speaks chat completions: a config's Root Signals backend is set aside with its URL.
    Object.assign(env, { JUDGE_BASE_URL: simulator.url, JUDGE_MODEL: "sim-judge", JUDGE_BACKEND: "openai-compatible", GENERATOR_BASE_URL: simulator.url });
    console.log(`verdict eval: judging with the built-in SIMULATOR at ${simulator.url} (a scripted stand-in, not a model).`);
  } else if (!upstreamConfigured(env, source)) {
    const judgeUrl = configuredJudgeUrl(env, source);
    if (!judgeUrl) {
      console.error("verdict eval needs a judge: set JUDGE_BASE_URL and JUDGE_MODEL (or use a config file), or pass --sim.");
      return 2;
    }
    env.GENERATOR_BASE_URL = judgeUrl; // eval never calls the generator; the schema still wants one
    borrowedUrl = true;
  }
  let loaded: Config;
  try {
    loaded = loadConfig(env, source.fileText, source.fileName);
  } catch (err) {
    await simulator?.close();
    return configProblem(err);
  }
  const config: Config = {
    ...loaded,
    // The generator's key goes to the judge only when the judge shares the generator's own URL, never one eval lent it.
    generator: borrowedUrl ? { ...loaded.generator, api_key: undefined } : loaded.generator,
    // Its own workers wait for the judge's slots rather than being refused as a full queue (which would count as errors).
    judge: { ...loaded.judge, max_queued: Math.max(loaded.judge.max_queued, options.concurrency) },
  };
  // As the proxy does: no key in an error message, a judge's reasoning or the report (src/app.ts).
  const secrets = [config.generator.api_key, config.judge.api_key];
  const { backend, callTimes } = evalJudge(config, globalThis.fetch.bind(globalThis), secrets);
  const controller = new AbortController();
  const onInterrupt = () => {
    if (controller.signal.aborted) process.exit(130);
    console.error("\ninterrupted: finishing with the rows judged so far (Ctrl-C again to quit at once)");
    controller.abort();
  };
  process.on("SIGINT", onInterrupt);
  const started = Date.now();
  const { results, interrupted } = await runEval({
    task,
    items,
    backend,
    cache: createMemoryCache(config.cache),
    concurrency: options.concurrency,
    signal: controller.signal,
    onResult: progress(items.length),
  });
  process.off("SIGINT", onInterrupt);
  await simulator?.close();

  const redact = createRedactor(secrets);
  // A judge's reasoning may repeat a key it was shown: the results are scrubbed as a whole before anything is written.
  const scrubbed = JSON.parse(redact(JSON.stringify(results))) as typeof results;
  const summary = summarise(task, scrubbed, callTimes);
  const meta = { data, judge: backend.model, items_asked: items.length, interrupted, seconds: ((Date.now() - started) / 1000).toFixed(1) };
  const extra = "fail" in summary ? `, FAIL F1 ${summary.fail.f1?.toFixed(3) ?? "n/a"}` : `, position consistency ${summary.position_consistency?.toFixed(3) ?? "n/a"}`;
  console.log(`${summary.rows} items${interrupted ? " (interrupted)" : ""}: accuracy ${summary.accuracy?.toFixed(3) ?? "n/a"}${extra}, ${summary.errors} judge errors, ${summary.unparsed} unreadable answers`);
  if (summary.scored < summary.rows) console.log(leftOut(summary));
  try {
    writeFileSync(reports.json, JSON.stringify({ meta, summary, results: scrubbed }, null, 2));
    writeFileSync(reports.html, renderReport(summary, callTimes, meta));
  } catch (err) {
    // Checked before the run, but the directory can change under a long one: the figures above are still printed.
    console.error(`verdict eval: cannot write the report to ${options.out}: ${(err as Error).message}`);
    return 2;
  }
  console.log(`report: ${reports.html} and ${reports.json}`);
  if (interrupted) return 130;
  if (summary.scored === 0) {
    // Nothing was measured: a script running the evaluation must not take this for a result.
    console.error(`verdict eval: no item got a readable verdict from the judge (${summary.errors} judge errors, ${summary.unparsed} unreadable answers)`);
    return 1;
  }
  return 0;
}
