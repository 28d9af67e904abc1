// Reads `perf script -F ip,sym,dso` output of a Node process run with --perf-basic-prof: each sample's stack, leaf
// first, JavaScript frames named `JS:<tier><function> <file>:<line>:<column>`.
//
// Why this and not `--cpu-prof`: V8's profiler also counts a sample taken while the process waits in a system call
// for a core, so on a small shared machine `writev` looked like 40% of a pass-through. perf's cpu-clock counts only CPU
// time, kernel included. Each sample is put down to the innermost JavaScript frame on its stack (the function whose
// work it was, builtins and runtime calls included), and the V8 runtime calls that give away a slow path (inline
// cache misses, new hidden classes) are counted by that frame too: they are how the object spreads of the
// twenty-seventh session showed (bench/README.md, "Object spreads").

export interface Attribution {
  samples: number;
  /** Per request, in µs: samples / hz / requests. */
  totalUs: number;
  /** By what the leaf frame is: kernel, gc, jit (compiled JavaScript), builtin, or other native code. */
  byLeaf: Record<string, number>;
  /** By innermost JavaScript frame, "function file:line" (verdict's own when `own` matches the file). */
  byFrame: [string, number][];
  /** The same samples by where that frame's code comes from: the proxy's own file, a package, a part of Node. */
  bySource: [string, number][];
  /** Slow-path runtime calls, "call | innermost frame". */
  slowPaths: [string, number][];
}

/** Runtime calls that mean V8 left its fast path: a cache miss, a hidden class made, a property deleted. */
const SLOW_PATH = /Runtime_(?:LoadIC_Miss|KeyedLoadIC_Miss|StoreIC_Miss|KeyedStoreIC_Miss|DefineNamedOwnIC_Miss|DefineNamedOwnIC_Slow|KeyedStoreIC_Slow|DeleteProperty)|Factory::NewMap/;

function leafKind(leaf: string): string {
  if (leaf.includes("[kernel.kallsyms]")) return "kernel";
  if (/Scaveng|MarkCompact|ConcurrentMarking|Sweeper|MarkingVisitor|Heap::/.test(leaf)) return "gc";
  if (leaf.includes(" JS:")) return "jit";
  if (leaf.includes("Builtins_")) return "builtin";
  return "native";
}

/** A JavaScript frame's function name, file and line: "JS:*name file:///x/build/verdict.mjs:12:3 (/tmp/perf-1.map)". */
const LOCATED = /JS:[*~^]?(.*?)\s*(\S+):(\d+):\d+(?:\s|$)/;

/** "name build/verdict.mjs:12" (names may hold spaces: "get signal"). */
function frameName(line: string): string {
  const match = LOCATED.exec(line);
  if (!match) return line.trim().replace(/^\S+\s+/, "").replace(/\s*\(\/[^)]*\)$/, ""); // no location (wasm): the name alone
  const file = match[2]!.replace(/^file:\/\//, "").replace(/^.*node_modules\//, "").split("/").slice(-2).join("/");
  return `${match[1] || "(anonymous)"} ${file}:${match[3]}`;
}

/**
 * Where a JavaScript frame's code comes from, coarse enough to compare two proxies: the proxy's own file (the bundle,
 * or the floor's script), a package by name (undici's HTTP parser is its WebAssembly), Node's HTTP, streams or the
 * rest of it.
 */
function sourceOf(line: string | undefined): string {
  if (line === undefined) return "(no JavaScript frame)";
  if (line.includes(" JS:wasm")) return "undici";
  const file = LOCATED.exec(line)?.[2];
  if (file === undefined) return "(unnamed)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
  if (pkg !== undefined) return pkg;
  if (file.startsWith("node:")) return /^node:_?http/.test(file) ? "node: http" : file.includes("/streams/") ? "node: streams" : "node: other";
  return file.replace(/^file:\/\//, "").split("/").pop()!;
}

const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
const sorted = (map: Map<string, number>, perSample: number): [string, number][] =>
  [...map].sort((a, b) => b[1] - a[1]).map(([key, count]) => [key, count * perSample]);

export function attribute(text: string, hz: number, requests: number): Attribution {
  const stacks = text.split(/\n\s*\n/).map((block) => block.split("\n").filter((line) => line.trim() !== "")).filter((lines) => lines.length > 0);
  const perSample = 1e6 / hz / Math.max(1, requests);
  const leaves = new Map<string, number>();
  const frames = new Map<string, number>();
  const sources = new Map<string, number>();
  const slow = new Map<string, number>();
  for (const stack of stacks) {
    add(leaves, leafKind(stack[0]!));
    const js = stack.findIndex((line) => line.includes(" JS:"));
    const owner = js < 0 ? "(no JavaScript frame)" : frameName(stack[js]!);
    add(frames, owner);
    add(sources, sourceOf(js < 0 ? undefined : stack[js]));
    const below = js < 0 ? stack : stack.slice(0, js);
    const call = below.map((line) => SLOW_PATH.exec(line)?.[0]).findLast((found) => found !== undefined);
    if (call !== undefined) add(slow, `${call} | ${owner}`);
  }
  return {
    samples: stacks.length,
    totalUs: stacks.length * perSample,
    byLeaf: Object.fromEntries(sorted(leaves, perSample)),
    byFrame: sorted(frames, perSample),
    bySource: sorted(sources, perSample),
    slowPaths: sorted(slow, perSample),
  };
}
