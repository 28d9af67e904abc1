// The overhead benchmark's smoke (`bench/overhead.ts --smoke`) as a child process: every path starts, answers 2xx and
// streams well-formed SSE under wrk. Fails only on errors, never on timing; fails (never skips) when wrk is missing.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PATHS } from "../../bench/overhead-table";

function wrkMissing(): string | null {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
    return null;
  } catch (err) {
    // wrk --version prints its banner and exits 1: only "not found" means missing.
    return (err as NodeJS.ErrnoException).code === "ENOENT" ? "wrk is not installed; install Debian's wrk (apt-get install -y wrk), as .ci/run does" : null;
  }
}

function runSmoke(outFile: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/overhead.ts", "--smoke", "--out", outFile], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    // SIGINT, not SIGKILL: the benchmark then kills its own servers before it exits.
    const timer = setTimeout(() => child.kill("SIGINT"), 55_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("bench:overhead --smoke", () => {
  const dir = mkdtempSync(join(tmpdir(), "verdict-bench-smoke-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("runs every path through wrk and prints the table", { timeout: 60_000 }, async () => {
    const missing = wrkMissing();
    if (missing) throw new Error(missing);
    const outFile = join(dir, "overhead-smoke.json");
    const { code, stdout, stderr } = await runSmoke(outFile);
    expect(code, `exit code; stderr:\n${stderr}`).toBe(0);
    for (const mode of ["plain", "stream"]) {
      for (const path of PATHS) expect(stdout).toMatch(new RegExp(`^\\| ${mode} \\| \\d+ \\| ${path} \\| \\d+ \\|`, "m"));
    }
    const results = JSON.parse(readFileSync(outFile, "utf8")) as { cells: { requests: number; errors: number }[]; errors: string[] };
    expect(results.errors).toEqual([]);
    expect(results.cells).toHaveLength(2 * PATHS.length);
    for (const cell of results.cells) expect(cell.requests).toBeGreaterThan(0);
  });
});
