// Preloaded into verdict by the soak (node --expose-gc --import): on SIGUSR2, collect garbage, then report the heap.
process.on("SIGUSR2", () => {
  // Several rounds with macrotask turns between them: Node frees dependent AbortSignals from finalizer callbacks.
  let rounds = 3;
  const step = () => {
    globalThis.gc?.();
    if (--rounds > 0) return void setTimeout(step, 50);
    const { heapUsed, rss } = process.memoryUsage();
    process.stderr.write(`${JSON.stringify({ probe: "heap", heap_used: heapUsed, rss })}\n`);
  };
  step();
});
