#!/usr/bin/env node
// Bundles src/ into build/verdict.mjs for `npm start` (the benchmarks run verdict the same way). Each output file is
// written under a name of its own and then renamed into place, so a process starting from the bundle never reads half
// of one, even while another build runs (the test suite starts two at once). `--sourcemap` adds build/verdict.mjs.map.
// `--entry FILE --outfile FILE` bundles another entry the same way (bench/instructions.ts bundles its work so).
import { build } from "esbuild";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    sourcemap: { type: "boolean", default: false },
    entry: { type: "string", default: "src/cli.ts" },
    outfile: { type: "string", default: "build/verdict.mjs" },
  },
});

const result = await build({
  entryPoints: [values.entry],
  bundle: true,
  platform: "node",
  format: "esm",
  packages: "external", // node_modules stay imports, resolved at run time
  outfile: values.outfile,
  sourcemap: values.sourcemap,
  write: false,
  logLevel: "warning",
});
for (const file of result.outputFiles) {
  mkdirSync(dirname(file.path), { recursive: true });
  const unique = `${file.path}.${process.pid}.tmp`;
  writeFileSync(unique, file.contents);
  renameSync(unique, file.path);
}
