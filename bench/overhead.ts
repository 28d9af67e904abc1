// Pass-through overhead: the same chat requests straight to the zero-latency simulator, through a bare Node proxy (the
// floor any Node proxy starts from), through verdict (n = 1) and through Portkey's gateway, interleaved, at several
// concurrencies, driven by wrk. `npm run bench:overhead [-- --smoke]`.
import { cpus, loadavg, tmpdir } from "node:os";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cpuMs, untilIdle } from "./proc";
import { probe, requestBody, requestHeaders, type Target } from "./overhead-probe";
import { killChildren, startFloor, startPortkey, startSim, startVerdict } from "./overhead-servers";
import { mergeRounds, runWrk, wrkVersion, writeScript, type Round } from "./overhead-wrk";
import { evaluateTargets, renderTables, type Cell } from "./overhead-table";

const DEFAULTS = { seconds: "5", concurrency: "1,16,64" };
const { values } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    seconds: { type: "string", default: DEFAULTS.seconds },
    concurrency: { type: "string", default: DEFAULTS.concurrency },
    out: { type: "string" },
  },
});
const smoke = values.smoke;
// wrk's shortest run is 1 s, so a round is 1 s and a cell is `seconds` rounds per path.
const rounds = smoke ? 1 : Math.max(1, Math.min(60, Math.round(Number(values.seconds))));
const concurrencies = smoke ? [4] : values.concurrency.split(",").map(Number);
const outFile = values.out ?? (smoke ? "bench/out/overhead-smoke.json" : "bench/out/overhead.json");
const MODES = ["plain", "stream"] as const;

const cpuSeconds = (pid: number) => cpuMs(pid) / 1000;

async function main(): Promise<number> {
  const wrk = wrkVersion();
  const dir = mkdtempSync(join(tmpdir(), "verdict-overhead-"));
  const started = Date.now();
  const load = loadavg()[0]!;
  const sim = await startSim(dir);
  const [floor, verdict, portkey] = await Promise.all([startFloor(dir, sim.url), startVerdict(dir, sim.url), startPortkey(dir)]);
  const targets: (Target & { pid: number })[] = [
    { name: "direct", url: sim.url, pid: sim.pid },
    { name: "floor", url: floor.url, pid: floor.pid },
    { name: "verdict", url: verdict.url, pid: verdict.pid },
    { name: "portkey", url: portkey.url, pid: portkey.pid },
  ];
  const errors: string[] = [];
  for (const target of targets) errors.push(...(await probe(target, sim.url)));
  if (errors.length > 0) throw new Error(`a path answers wrongly before any load:\n${errors.join("\n")}`);

  const headers = requestHeaders(sim.url);
  const scripts = { plain: writeScript(dir, "plain", requestBody(false), headers), stream: writeScript(dir, "stream", requestBody(true), headers) };
  const run = (target: (typeof targets)[number], mode: (typeof MODES)[number], connections: number) =>
    runWrk(`${target.url}/chat/completions`, scripts[mode], connections, 1, join(dir, `wrk-${target.name}.log`));

  // Warm-up (discarded): JIT and connection pools of every path, so the first measured round is not the cold one.
  if (!smoke) for (const mode of MODES) for (const target of targets) await run(target, mode, 16);

  const cells: Cell[] = [];
  for (const concurrency of concurrencies) {
    for (const mode of MODES) {
      const byTarget = new Map(targets.map((t) => [t.name, { rounds: [] as Round[], proxyCpu: 0, simCpu: 0 }]));
      for (let r = 0; r < rounds; r++) {
        // Rotate the order each round so that no path always runs right after another (or first, on a cooler CPU).
        for (let i = 0; i < targets.length; i++) {
          const target = targets[(r + i) % targets.length]!;
          const entry = byTarget.get(target.name)!;
          await untilIdle(targets.map((t) => t.pid));
          const cpuBefore = [cpuSeconds(target.pid), cpuSeconds(sim.pid)];
          entry.rounds.push(await run(target, mode, concurrency));
          if (target.name !== "direct") entry.proxyCpu += cpuSeconds(target.pid) - cpuBefore[0]!;
          entry.simCpu += cpuSeconds(sim.pid) - cpuBefore[1]!;
        }
      }
      for (const target of targets) {
        const entry = byTarget.get(target.name)!;
        const merged = mergeRounds(entry.rounds);
        const perRequest = (cpu: number) => (merged.requests > 0 ? +((cpu * 1000) / merged.requests).toFixed(3) : null);
        cells.push({
          mode,
          concurrency,
          path: target.name,
          ...merged,
          proxy_cpu_ms_per_request: target.name === "direct" ? null : perRequest(entry.proxyCpu),
          sim_cpu_ms_per_request: perRequest(entry.simCpu),
        });
        if (merged.errors > 0) errors.push(`${target.name} ${mode} c=${concurrency}: ${merged.errors} wrk errors (status 400 and above, socket errors or 10 s timeouts); see ${join(dir, `wrk-${target.name}.log`)}`);
        if (merged.requests === 0) errors.push(`${target.name} ${mode} c=${concurrency}: no request completed`);
      }
    }
  }
  for (const target of targets) errors.push(...(await probe(target, sim.url)).map((e) => `after the load: ${e}`));

  // The command that repeats this run: the flags that differ from the defaults (not --out).
  const given = (["seconds", "concurrency"] as const).filter((flag) => values[flag] !== DEFAULTS[flag]).map((flag) => `--${flag} ${values[flag]}`).join(" ");
  const results = {
    date: new Date(started).toISOString(),
    command: `npm run bench:overhead${smoke ? " -- --smoke" : given ? ` -- ${given}` : ""}`,
    machine: { nproc: cpus().length, cpu: cpus()[0]?.model ?? "unknown", node: process.version, wrk, loadavg_1m_at_start: +load.toFixed(2) },
    settings: { smoke, rounds_per_cell: rounds, round_seconds: 1, concurrencies, wrk_threads: 1, warmup: !smoke },
    cells,
    targets: evaluateTargets(cells),
    wall_seconds: Math.round((Date.now() - started) / 1000),
    errors,
  };
  console.log(renderTables(results));
  mkdirSync(join(outFile, ".."), { recursive: true });
  writeFileSync(outFile, JSON.stringify(results, null, 2) + "\n");
  console.log(`\nresults: ${outFile}`);
  if (errors.length > 0) console.error(`overhead: ${errors.length} error(s), the servers' logs are in ${dir}:\n${errors.join("\n")}`);
  else rmSync(dir, { recursive: true, force: true });
  return errors.length > 0 ? 1 : 0;
}

main()
  .then((code) => {
    killChildren();
    process.exit(code);
  })
  .catch((err: unknown) => {
    console.error(`overhead: ${(err as Error)?.message ?? err}`);
    killChildren();
    process.exit(1);
  });
