// What a benchmark reads about another process from /proc (Linux): its CPU time and its memory.
import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // Linux USER_HZ, what /proc/<pid>/stat counts in

function statCpuMs(file: string): number {
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the whole line.
  const stat = readFileSync(file, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** CPU time (user + system) the process has used so far, all its threads, in ms. */
export function cpuMs(pid: number): number {
  return statCpuMs(`/proc/${pid}/stat`);
}

/**
 * CPU time of the process's main thread alone (JavaScript, and the garbage collection done there), in ms. The rest
 * of cpuMs is V8's helper threads (mostly concurrent and parallel garbage collection) and libuv's pool.
 */
export function mainThreadCpuMs(pid: number): number {
  return statCpuMs(`/proc/${pid}/task/${pid}/stat`);
}

/** A memory field of /proc/<pid>/status in MiB: VmRSS (resident now) or VmHWM (peak resident). */
export function memoryMiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024;
}

/**
 * Waits until none of `pids` is using the CPU (at most one of /proc's 10 ms ticks each over 100 ms), for at most
 * `limitMs`. A gateway still working off the backlog of a round that overloaded it would otherwise take the next
 * round's CPU from whichever path runs then.
 */
export async function untilIdle(pids: number[], limitMs = 2_000): Promise<void> {
  const giveUp = Date.now() + limitMs;
  let before = pids.map(cpuMs);
  while (Date.now() < giveUp) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = pids.map(cpuMs);
    if (now.every((ms, i) => ms - before[i]! <= 10)) return;
    before = now;
  }
}
