// throwaway: profile verdict pass-through under wrk c=16
import { startSim, startVerdict, killChildren } from "./overhead-servers";
import { requestBody, requestHeaders } from "./overhead-probe";
import { runWrk, writeScript } from "./overhead-wrk";
import { cpuMs } from "./proc";
const dir = "/tmp/s17/pt";
const sim = await startSim(dir);
const verdict = await startVerdict(dir, sim.url);
const script = writeScript(dir, "plain", requestBody(process.env.STREAM === "1"), requestHeaders(sim.url));
await runWrk(`${verdict.url}/chat/completions`, script, 16, 3, `${dir}/w.log`);
const before = cpuMs(verdict.pid);
const r = await runWrk(`${verdict.url}/chat/completions`, script, 16, Number(process.env.SECONDS ?? 10), `${dir}/w.log`);
console.log("requests", r.requests, "cpu ms/req", ((cpuMs(verdict.pid) - before) / r.requests).toFixed(3));
process.kill(verdict.pid, "SIGTERM");
await new Promise((res) => setTimeout(res, 2500));
killChildren();
process.exit(0);
