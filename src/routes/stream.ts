// A reranked answer as an SSE response: headers and a first comment at once, keep-alive comments while candidates and
// judging run, then the replayed events. A client that goes away aborts the work; a failure becomes an error event.
import { ProxyError, toProxyError } from "../errors";
import { encodeBytes, encodeComment } from "../openai/sse";

export interface StreamedWork {
  /** The client's request signal: aborts when its socket closes. */
  clientSignal: AbortSignal;
  keepaliveMs: number;
  /** Events that do not depend on the work (the Responses API's response.created), sent right after the headers. */
  opening?: string[];
  /** Does the work under `signal` and returns the encoded events to send, in order. */
  produce(signal: AbortSignal): Promise<string[]>;
  /** Encodes a failure that happened after the stream began (OpenAI's error shape for the API in question). */
  renderError(error: ProxyError): string;
  onUnexpectedError?(err: unknown): void;
  /**
   * Told how the work ended once it has: 200, or the failure's status (499 when the client left). The 200 of the
   * headers says nothing about that, so the request's log line and metrics wait for this (see settleLater).
   */
  onSettled?(status: number, error?: unknown): void;
  headers?: Record<string, string>;
}

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  // Stops nginx-style proxies from buffering the stream, which would also swallow the keep-alives.
  "x-accel-buffering": "no",
};

/**
 * Runs `work` for a stream sent through `send`: a first comment at once, keep-alives while the work runs, then its
 * events (or an error event), and `end` once it is over. Returns what to call when the reader goes away. Shared by the
 * web Response below and the Node lane, which writes to node:http's response without one (src/adapters/node-chat-lane.ts).
 */
export function streamWork(work: StreamedWork, send: (text: string) => void, end: () => void): () => void {
  const controller = new AbortController();
  const cancelled = () => controller.abort(new ProxyError(499, "client closed the stream", { code: "cancelled" }));
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    if (timer !== undefined) clearInterval(timer);
    work.clientSignal.removeEventListener("abort", cancelled);
  };
  if (work.clientSignal.aborted) cancelled();
  else work.clientSignal.addEventListener("abort", cancelled, { once: true });
  const write = (text: string) => {
    if (controller.signal.aborted) return;
    try {
      send(text);
    } catch {
      cancelled(); // the stream was closed under us: nobody is reading any more
    }
  };
  // A byte right away: some clients and proxies only report the response once the first body bytes arrive.
  write(encodeComment("verdict: sampling candidates"));
  work.opening?.forEach(write);
  timer = setInterval(() => write(encodeComment("keep-alive")), work.keepaliveMs);
  void work
    .produce(controller.signal)
    .then(
      (events) => {
        write(events.join("")); // one write: the answer's events all go out together
        work.onSettled?.(200);
      },
      (err: unknown) => {
        if (!(err instanceof ProxyError)) work.onUnexpectedError?.(err);
        const failure = toProxyError(err);
        write(work.renderError(failure));
        work.onSettled?.(failure.status, failure);
      },
    )
    .finally(() => {
      stop();
      end();
    });
  return () => {
    stop();
    cancelled();
  };
}

export function streamedResponse(work: StreamedWork): Response {
  let cancel: () => void = () => undefined;
  const body = new ReadableStream<Uint8Array>({
    start(out) {
      const close = () => {
        try {
          out.close();
        } catch {
          // already closed by a cancel
        }
      };
      cancel = streamWork(work, (text) => out.enqueue(encodeBytes(text)), close);
    },
    cancel: () => cancel(),
  });
  return new Response(body, { status: 200, headers: { ...SSE_HEADERS, ...work.headers } });
}
