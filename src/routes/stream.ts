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

export function streamedResponse(work: StreamedWork): Response {
  const controller = new AbortController();
  const cancelled = () => controller.abort(new ProxyError(499, "client closed the stream", { code: "cancelled" }));
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    if (timer !== undefined) clearInterval(timer);
    work.clientSignal.removeEventListener("abort", cancelled);
  };
  if (work.clientSignal.aborted) cancelled();
  else work.clientSignal.addEventListener("abort", cancelled, { once: true });

  const body = new ReadableStream<Uint8Array>({
    start(out) {
      const write = (text: string) => {
        if (controller.signal.aborted) return;
        try {
          out.enqueue(encodeBytes(text));
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
            events.forEach(write);
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
          try {
            out.close();
          } catch {
            // already closed by a cancel
          }
        });
    },
    cancel() {
      stop();
      cancelled();
    },
  });
  return new Response(body, { status: 200, headers: { ...SSE_HEADERS, ...work.headers } });
}
