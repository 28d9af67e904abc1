// bench:perf's reading of `perf script` output: each sample put down to its innermost JavaScript frame.
import { expect, it } from "vitest";
import { attribute } from "../../bench/perf-samples";

// Six samples as `perf script -F ip,sym,dso` prints them: stacks leaf first, a blank line between samples.
const SCRIPT = `
	ffffffff8225f759 pvm_irq_enable ([kernel.kallsyms])
	ffffffff81e82f7e sock_def_readable ([kernel.kallsyms])
	    7fb13a9113ed JS:*forwardToGenerator file:///work/main/build/verdict.mjs:5434:34 (/tmp/perf-1.map)
	    7fb13a8fdbd8 JS:*answer file:///work/main/build/verdict.mjs:7817:24 (/tmp/perf-1.map)

	          c7e636 v8::internal::Factory::NewMap (/usr/bin/node)
	          c7e9cd v8::internal::Runtime_DefineNamedOwnIC_Miss (/usr/bin/node)
	         14d1546 Builtins_CEntry_Return1_ArgvOnStack_NoBuiltinExit (/usr/bin/node)
	    7fb13a921134 JS:*attempt file:///work/main/build/verdict.mjs:6887:21 (/tmp/perf-1.map)
	    7fb13a92ca22 JS:*exchangeWithRetries file:///work/main/build/verdict.mjs:6881:31 (/tmp/perf-1.map)

	    7fb13a921134 JS:*attempt file:///work/main/build/verdict.mjs:6887:21 (/tmp/perf-1.map)

	          9dd570 v8::internal::Scavenger::ScavengeObject (/usr/bin/node)
	         14b8616 uv__read (/usr/bin/node)

	    7fc3b8254a0d JS:*get signal node:internal/abort_controller:383:13 (/tmp/perf-1.map)

	    7fc3b8254a0d JS:wasm-function[20]-20-turbofan (/tmp/perf-1.map)
`;

it("puts each sample down to its innermost JavaScript frame, with what ran below it", () => {
  // At 1,000 Hz a sample is 1 ms of CPU; over 2 requests, 500 µs of each.
  const found = attribute(SCRIPT, 1_000, 2);
  expect(found.samples).toBe(6);
  expect(found.totalUs).toBe(3_000);
  expect(Object.fromEntries(found.byFrame)).toEqual({
    "attempt build/verdict.mjs:6887": 1_000,
    "forwardToGenerator build/verdict.mjs:5434": 500,
    "(no JavaScript frame)": 500,
    "get signal node:internal/abort_controller:383": 500,
    "JS:wasm-function[20]-20-turbofan": 500,
  });
  expect(found.byLeaf).toEqual({ kernel: 500, native: 500, jit: 1_500, gc: 500 });
});

it("names the V8 slow path a sample was on, by the frame that took it", () => {
  const found = attribute(SCRIPT, 1_000, 2);
  // The outermost slow-path call below the frame: the miss that made the hidden class, not the class itself.
  expect(found.slowPaths).toEqual([["Runtime_DefineNamedOwnIC_Miss | attempt build/verdict.mjs:6887", 500]]);
});

it("sums the samples by where their innermost frame's code comes from: the proxy's file, a package, a part of Node", () => {
  const script = [
    "\t    7fb1 JS:*answer file:///work/main/build/verdict.mjs:7817:24 (/tmp/perf-1.map)",
    "\t    7fb2 JS:*_resume file:///work/main/node_modules/undici/lib/dispatcher/client.js:579:3 (/tmp/perf-1.map)",
    "\t    7fb3 JS:wasm-function[20]-20-turbofan (/tmp/perf-1.map)",
    "\t    7fb4 JS:*parserOnIncoming node:_http_server:1026:27 (/tmp/perf-1.map)",
    "\t    7fb5 JS:*clearBuffer node:internal/streams/writable:744:21 (/tmp/perf-1.map)",
    "\t    7fb6 JS:*get signal node:internal/abort_controller:383:13 (/tmp/perf-1.map)",
    "\t    7fb7 JS:*(anonymous) file:///work/main/bench/floor-proxy.mjs:18:22 (/tmp/perf-1.map)",
    "\t    7fb8 JS:~parse file:///work/main/node_modules/@scope/pkg/index.js:1:1 (/tmp/perf-1.map)",
    "\t  14b8616 uv__read (/usr/bin/node)",
  ].join("\n\n");
  const found = attribute(script, 1_000, 1);
  expect(Object.fromEntries(found.bySource)).toEqual({
    "verdict.mjs": 1_000,
    undici: 2_000,
    "node: http": 1_000,
    "node: streams": 1_000,
    "node: other": 1_000,
    "floor-proxy.mjs": 1_000,
    "@scope/pkg": 1_000,
    "(no JavaScript frame)": 1_000,
  });
});
