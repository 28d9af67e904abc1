// Relays an upstream SSE body event by event; if the upstream cuts off mid-stream, the client gets a well-formed
// error event instead of half an event and a dead socket.
//
// Only whole events (ending in a blank line) are forwarded, so a cut never leaves the client a partial `data:` line.
// OpenAI's SDKs turn a `data: {"error": ...}` event into a thrown APIError, which is the clean failure a streaming
// client can act on; an upstream that simply ends is passed on as it is.

const LF = 10;
const CR = 13;

/** Index just past the last event boundary (a blank line: LF LF, CR CR or CRLF CRLF) in `bytes`, or 0. */
export function lastEventEnd(bytes: Uint8Array): number {
  for (let i = bytes.length - 1; i > 0; i--) {
    if ((bytes[i] === LF && (bytes[i - 1] === LF || (bytes[i - 1] === CR && i >= 3 && bytes[i - 2] === LF))) ||
      (bytes[i] === CR && bytes[i - 1] === CR)) {
      return i + 1;
    }
  }
  return 0;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export function errorEvent(message: string, code: string): Uint8Array {
  const payload = { error: { message, type: "upstream_error", param: null, code } };
  return new TextEncoder().encode(`data: ${JSON.stringify(payload)}\n\n`);
}

export function guardEventStream(body: ReadableStream<Uint8Array>, who = "generator"): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let pending: Uint8Array = new Uint8Array(0);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          if (pending.length > 0) controller.enqueue(pending);
          controller.close();
          return;
        }
        const buffered = concat(pending, value);
        const end = lastEventEnd(buffered);
        if (end > 0) controller.enqueue(buffered.subarray(0, end));
        pending = buffered.slice(end);
      } catch {
        controller.enqueue(errorEvent(`the ${who} upstream's stream was cut off before it finished`, "upstream_stream_truncated"));
        controller.close();
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
