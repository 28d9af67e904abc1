// Per-request bound on upstream calls in flight (Workers allows 6 open connections per invocation), whatever N is.
import PQueue from "p-queue";
import { cancelledError, ProxyError } from "./errors";
import type { CallOptions, JudgeBackend } from "./judge/backend";
import type { Upstream } from "./upstream";
import { withFields } from "./util/with-fields";

/** Runs tasks with at most a fixed number at once; one limiter serves one client request. */
export interface Limiter {
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /**
   * Resolves once every task started has settled, an aborted one included: the queue answers an abort at once, while
   * the call behind it (a fetch a runtime rejects later) still holds its upstream slot and has still to be counted.
   */
  settled(): Promise<void>;
}

/** The default: no bound beyond the upstream queues. */
export const unlimited: Limiter = { run: (task) => task(), settled: () => Promise.resolve() };

export function createLimiter(maxInFlight: number): Limiter {
  // A fresh queue per request: its tasks start from the same request's context, which Workers requires for I/O.
  const queue = new PQueue({ concurrency: maxInFlight });
  const started = new Set<Promise<unknown>>();
  const tracked = <T>(task: () => Promise<T>) => () => {
    const running = task();
    started.add(running);
    const forget = () => void started.delete(running);
    running.then(forget, forget);
    return running;
  };
  return {
    async settled() {
      while (started.size > 0) await Promise.allSettled([...started]);
    },
    async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      try {
        return await queue.add(tracked(task), { signal });
      } catch (err) {
        // Stopped by the request's abort: its own reason when verdict gave one (the judging cut-off, a spent budget),
        // which decides what the request answers; else the client left, as an aborted upstream call says.
        if (signal?.aborted && err === signal.reason) throw err instanceof ProxyError ? err : cancelledError();
        throw err;
      }
    },
  };
}

/** Makes a new limiter per request, or none when the deployment sets no bound. */
export function limiterFactory(maxInFlight: number | undefined): () => Limiter {
  return maxInFlight === undefined ? () => unlimited : () => createLimiter(maxInFlight);
}

/**
 * The upstream as one request sees it: a request slot first, then the shared queue, so a request waiting for its own
 * slot never holds a place in the shared queue. SDK retries stay inside the one slot (they are sequential).
 */
export function limitUpstream(upstream: Upstream, limiter: Limiter): Upstream {
  if (limiter === unlimited) return upstream;
  return {
    role: upstream.role,
    client: upstream.client,
    chat: upstream.chat,
    baseURL: upstream.baseURL,
    get pending() {
      return upstream.pending;
    },
    schedule: (call, signal) => limiter.run(() => upstream.schedule(call, signal), signal),
    admit: upstream.admit,
    refusesNow: () => upstream.refusesNow(),
  };
}

/**
 * The judge backend under the same bound. A judgment that makes its calls one after another takes one slot; a backend
 * whose judgments make calls at once (`callsAtOnce`) is handed the bound to put each call under.
 */
export function limitJudge(backend: JudgeBackend, limiter: Limiter): JudgeBackend {
  if (limiter === unlimited) return backend;
  const { identity, model, templates } = backend;
  if (backend.callsAtOnce) {
    const bounded = (call: CallOptions = {}, signal: AbortSignal): CallOptions => withFields(call, { limit: <T>(task: () => Promise<T>) => limiter.run(task, signal) });
    return {
      identity,
      model,
      templates,
      callsAtOnce: true,
      comparePair: (input, signal, call) => backend.comparePair(input, signal, bounded(call, signal)),
      scoreRubric: (input, signal, call) => backend.scoreRubric(input, signal, bounded(call, signal)),
      checkGrounding: (input, signal, call) => backend.checkGrounding(input, signal, bounded(call, signal)),
    };
  }
  return {
    identity,
    model,
    templates,
    comparePair: (input, signal, call) => limiter.run(() => backend.comparePair(input, signal, call), signal),
    scoreRubric: (input, signal, call) => limiter.run(() => backend.scoreRubric(input, signal, call), signal),
    checkGrounding: (input, signal, call) => limiter.run(() => backend.checkGrounding(input, signal, call), signal),
  };
}
