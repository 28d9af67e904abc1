// The builds compared side by side (bench/ab.ts, bench/ab-load.ts): another commit's verdict, or the working tree's.
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync } from "node:fs";
import { join, resolve } from "node:path";

/** A commit's tree unpacked under `dir`, beside this one's node_modules. */
export function treeOf(side: "A" | "B", ref: string, dir: string): string {
  // One tree per side, so that an A/A run (the same ref twice) measures two separate builds.
  const tree = join(dir, `tree-${side}-${ref.replace(/[^\w.-]/g, "_")}`);
  mkdirSync(tree, { recursive: true });
  execFileSync("tar", ["-x", "-C", tree], { input: execFileSync("git", ["archive", "--format=tar", ref], { maxBuffer: 256 * 1024 * 1024 }) });
  symlinkSync(resolve("node_modules"), join(tree, "node_modules"));
  return tree;
}

/** The bundle of a commit: its tree built with its own bin/build.mjs. */
export function bundleOf(side: "A" | "B", ref: string, dir: string): string {
  const tree = treeOf(side, ref, dir);
  try {
    execFileSync(process.execPath, ["bin/build.mjs"], { cwd: tree, stdio: "inherit" });
  } catch {
    throw new Error(`cannot build ${ref}: it needs bin/build.mjs (the bundle came with it)`);
  }
  return join(tree, "build", "verdict.mjs");
}

/** A's bundle from commit `a`; B's from commit `b`, or the working tree's (built now) when there is none. */
export function bundlesToCompare(a: string, b: string | undefined, dir: string): { A: string; B: string } {
  if (b === undefined) execFileSync("npm", ["run", "-s", "build"], { stdio: "inherit" });
  return { A: bundleOf("A", a, dir), B: b !== undefined ? bundleOf("B", b, dir) : resolve("build", "verdict.mjs") };
}

/** Each side's extra Node flags, from --a-node-args / --b-node-args (one string each, flags split at spaces). */
export function sideNodeArgs(a: string | undefined, b: string | undefined): { A: string[]; B: string[] } {
  const split = (flags: string | undefined) => (flags ?? "").split(" ").filter(Boolean);
  return { A: split(a), B: split(b) };
}

/** What a side ran, for the report: its commit (or the working tree) and any extra flags. */
export function sideLabel(name: "A" | "B", a: string, b: string | undefined, nodeArgs: string[]): string {
  const build = name === "A" ? a : (b ?? "working tree");
  return nodeArgs.length > 0 ? `${build} with ${nodeArgs.join(" ")}` : build;
}
