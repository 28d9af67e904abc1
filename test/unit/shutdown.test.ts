// Shutdown on SIGTERM/SIGINT: a clean exit when in-flight work ends, and a forced one that says so in the log (the
// requests it cuts off get no log line of their own).
import { afterEach, describe, expect, it, vi } from "vitest";
import { closeOnSignals } from "../../src/adapters/node";
import type { Logger } from "../../src/app";

function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const log = (event: Record<string, unknown>) => void lines.push(event);
  return { lines, logger: { info: log, warn: log, error: log } as unknown as Logger };
}

describe("closeOnSignals", () => {
  const before = { SIGTERM: process.listeners("SIGTERM"), SIGINT: process.listeners("SIGINT") };
  afterEach(() => {
    // Only this test's handlers come off: the test runner's own stay.
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      for (const listener of process.listeners(signal)) if (!before[signal].includes(listener)) process.off(signal, listener);
    }
    vi.restoreAllMocks();
  });

  it("logs a forced exit when requests are still running once the grace period is over", async () => {
    const exit = vi.spyOn(process, "exit").mockImplementation((() => undefined) as never);
    const { lines, logger } = recordingLogger();
    closeOnSignals({ close: () => new Promise<void>(() => undefined) }, logger, 30);
    process.emit("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(lines.map((line) => line.event)).toEqual(["shutdown", "shutdown_forced"]);
    expect(lines[1]!.reason).toBe("requests still running 30 ms after SIGTERM");
    expect(exit).toHaveBeenCalledWith(1);
  });

  it("logs a forced exit on a second signal, and exits 0 when the work ends first", async () => {
    const exit = vi.spyOn(process, "exit").mockImplementation((() => undefined) as never);
    const { lines, logger } = recordingLogger();
    let finish!: () => void;
    // A short grace, waited out below: its timer must not fire (and exit for real) after this test's mock is gone.
    closeOnSignals({ close: () => new Promise<void>((resolve) => (finish = resolve)) }, logger, 40);
    process.emit("SIGTERM");
    process.emit("SIGINT");
    expect(lines.at(-1)).toEqual({ event: "shutdown_forced", reason: "a second SIGINT" });
    expect(exit).toHaveBeenLastCalledWith(1);
    finish();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(exit).toHaveBeenLastCalledWith(0);
    await new Promise((resolve) => setTimeout(resolve, 80));
  });
});
