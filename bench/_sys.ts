// throwaway: syscall counts per request (strace -c) for verdict and the floor under wrk c=16
import { execFileSync, spawn } from "node:child_process";
import { startSim, startVerdict, startFloor, killChildren } from "./overhead-servers";
import { requestBody, requestHeaders } from "./overhead-probe";
import { runWrk, writeScript } from "./overhead-wrk";
const dir = "/tmp/s17/pt";
const sim = await startSim(dir);
const [verdict, floor] = await Promise.all([startVerdict(dir, sim.url), startFloor(dir, sim.url)]);
const script = writeScript(dir, "plain", requestBody(process.env.STREAM === "1"), requestHeaders(sim.url));
for (const t of [verdict, floor]) {
  await runWrk(`${t.url}/chat/completions`, script, 16, 2, `${dir}/w.log`);
  const st = spawn("strace", ["-c", "-f", "-p", String(t.pid), "-o", `${dir}/strace-${t.name}.txt`]);
  await new Promise((r) => setTimeout(r, 500));
  const r = await runWrk(`${t.url}/chat/completions`, script, 16, 3, `${dir}/w.log`);
  st.kill("SIGINT");
  await new Promise((r) => setTimeout(r, 500));
  console.log(t.name, "requests", r.requests);
}
killChildren();
process.exit(0);
