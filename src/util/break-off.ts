// How a response whose body fails midway is ended, where the runtime has a way that is not an error.
//
// Why: a web Response's body can only say "broken" by erroring its stream. @hono/node-server answers that error by
// printing it with console.error, a raw line outside verdict's JSON log that log.level cannot silence. On Node the
// server registers each request's socket here (src/adapters/node.ts), and a broken body is ended by destroying it, as
// the chat lane ends its own streams: the client sees the answer cut off either way. Elsewhere (Workers) nothing is
// registered and the stream errors, which is how workerd cuts a response short.

const breakers = new WeakMap<Request, () => void>();

/** Registers how `request`'s response is broken off (Node: its socket destroyed). */
export function setBreakOff(request: Request, breakOff: () => void): void {
  breakers.set(request, breakOff);
}

/** How `request`'s response is broken off, if the runtime registered a way. */
export function breakOffOf(request: Request): (() => void) | undefined {
  return breakers.get(request);
}
