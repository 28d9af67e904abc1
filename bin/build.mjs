#!/usr/bin/env node
// Bundles src/ into build/verdict.mjs for `npm start` (the benchmarks run verdict the same way). Each output file is
// written under a name of its own and then renamed into place, so a process starting from the bundle never reads half
// of one, even while another build runs (the test suite starts two at once). `--sourcemap` adds build/verdict.mjs.map.
import { build } from "esbuild";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

const result = await build({
  entryPoints: ["src/cli.ts"],
  bundle: true,
  platform: "node",
  format: "esm",
  packages: "external", // node_modules stay imports, resolved at run time
  outfile: "build/verdict.mjs",
  sourcemap: process.argv.includes("--sourcemap"),
  write: false,
  logLevel: "warning",
});
for (const file of result.outputFiles) {
  mkdirSync(dirname(file.path), { recursive: true });
  const unique = `${file.path}.${process.pid}.tmp`;
  writeFileSync(unique, file.contents);
  renameSync(unique, file.path);
}
