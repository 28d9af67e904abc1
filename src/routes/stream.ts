// A reranked answer as an SSE response: keep-alive comments while candidates and judging run, then the replayed events.
// The headers wait until the first keep-alive is due (or the answer is ready), so a request that fails fast (the
// generator's 400, 401 or 429, a full queue) gets its own status and a JSON error, as OpenAI answers a stream it
// refuses; a failure after the stream began becomes an error event. A client that goes away aborts the work.
import { errorResponse, ProxyError, toProxyError } from "../errors";
import { encodeBytes, encodeComment } from "../openai/sse";
import { withFields } from "../util/with-fields";

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

/** Where a stream goes: node:http's response in the Node lane, a web Response in the app. */
export interface StreamSink {
  /** The stream begins: status 200 and the SSE headers. */
  begin(): void;
  send(text: string): void;
  end(): void;
  /** The work failed before the stream began: its own status and a JSON error, as an unstreamed request gets. */
  refuse(failure: ProxyError): void;
}

/**
 * Runs `work` for a stream sent to `sink`: nothing until the first keep-alive is due, then the headers, a first comment
 * and keep-alives while the work runs, then its events (or an error event), and the end. A failure before then is
 * refused with its status instead. Returns what to call when the reader goes away. Shared by the web Response below
 * and the Node lane, which writes to node:http's response without one (src/adapters/node-chat-lane.ts).
 */
export function streamWork(work: StreamedWork, sink: StreamSink): () => void {
  const controller = new AbortController();
  const cancelled = () => controller.abort(new ProxyError(499, "client closed the stream", { code: "cancelled" }));
  let timer: ReturnType<typeof setInterval> | undefined;
  let begun = false;
  const stop = () => {
    if (timer !== undefined) clearInterval(timer);
    work.clientSignal.removeEventListener("abort", cancelled);
  };
  if (work.clientSignal.aborted) cancelled();
  else work.clientSignal.addEventListener("abort", cancelled, { once: true });
  const write = (text: string) => {
    if (controller.signal.aborted) return;
    try {
      sink.send(text);
    } catch {
      cancelled(); // the stream was closed under us: nobody is reading any more
    }
  };
  const begin = () => {
    begun = true;
    sink.begin();
    work.opening?.forEach(write);
  };
  timer = setInterval(() => {
    if (begun) return write(encodeComment("keep-alive"));
    begin();
    write(encodeComment("verdict: sampling candidates and judging them"));
  }, work.keepaliveMs);
  void work
    .produce(controller.signal)
    .then(
      (events) => {
        if (!begun) begin();
        write(events.join("")); // one write: the answer's events all go out together
        work.onSettled?.(200);
      },
      (err: unknown) => {
        if (!(err instanceof ProxyError)) work.onUnexpectedError?.(err);
        const failure = toProxyError(err);
        if (begun) write(work.renderError(failure));
        else sink.refuse(failure);
        work.onSettled?.(failure.status, failure);
      },
    )
    .finally(() => {
      stop();
      if (begun) sink.end();
    });
  return () => {
    stop();
    cancelled();
  };
}

/** The stream as a web Response, once it has begun (or the failure that stopped it before it did). */
export function streamedResponse(work: StreamedWork): Promise<Response> {
  return new Promise((answer) => {
    let cancel: () => void = () => undefined;
    let out!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (controller) => void (out = controller), cancel: () => cancel() });
    const close = () => {
      try {
        out.close();
      } catch {
        // already closed by a cancel
      }
    };
    cancel = streamWork(work, {
      begin: () => answer(new Response(body, { status: 200, headers: withFields(SSE_HEADERS, work.headers ?? {}) })),
      send: (text) => out.enqueue(encodeBytes(text)),
      end: close,
      refuse: (failure) => answer(errorResponse(failure, work.headers)),
    });
  });
}
