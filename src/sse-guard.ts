// Relays an upstream SSE body event by event; if the upstream cuts off mid-stream, the client gets a well-formed
// error event instead of half an event and a dead socket.
//
// Only whole events (ending in a blank line) are forwarded, so a cut never leaves the client a partial `data:` line.
// OpenAI's SDKs turn a `data: {"error": ...}` event into a thrown APIError, which is the clean failure a streaming
// client can act on; an upstream that simply ends is passed on as it is.

import { encodeEvent } from "./openai/sse";
import { stoppable } from "./util/body-chunks";

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

/** The event a cut-off stream ends with, given the last whole events sent before the cut (empty if none were). */
export type CutOffEvent = (message: string, code: string, lastSent: Uint8Array) => Uint8Array;

const SEQUENCE_NUMBER = /"sequence_number"\s*:\s*(\d+)/g;

/**
 * A Responses API stream's cut: its own `error` event, numbered after the last event sent. A client of the Responses
 * API (the openai SDK, the AI SDK) expects that shape on that stream, not chat completions' `{"error": ...}`.
 */
export const responsesCutOff: CutOffEvent = (message, code, lastSent) => {
  let next = 0;
  for (const match of new TextDecoder().decode(lastSent).matchAll(SEQUENCE_NUMBER)) next = Number(match[1]) + 1;
  return new TextEncoder().encode(encodeEvent({ type: "error", code, message, param: null, sequence_number: next }, "error"));
};

/**
 * The events of an upstream's stream, whole ones only; a cut-off stream ends with an error event instead (chat
 * completions' by default). A reader that stops early (the client left) ends the upstream's stream at once.
 */
export function guardEvents(chunks: AsyncIterable<Uint8Array>, who = "generator", cutOff: CutOffEvent = errorEvent): AsyncIterableIterator<Uint8Array> {
  const source = chunks[Symbol.asyncIterator]();
  return stoppable(wholeEvents(source, who, cutOff), source);
}

async function* wholeEvents(source: AsyncIterator<Uint8Array>, who: string, cutOff: CutOffEvent): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array = new Uint8Array(0);
  let lastSent: Uint8Array = pending;
  try {
    for (;;) {
      const { done, value } = await source.next();
      if (done) break;
      const buffered = concat(pending, value);
      const end = lastEventEnd(buffered);
      if (end > 0) yield (lastSent = buffered.subarray(0, end));
      // A copy (Buffer's slice() would be a view): a view would keep the whole upstream read alive for a partial event.
      pending = new Uint8Array(buffered.subarray(end));
    }
  } catch {
    yield cutOff(`the ${who} upstream's stream was cut off before it finished`, "upstream_stream_truncated", lastSent);
    return;
  }
  if (pending.length === 0) return;
  // An end in the middle of a line is a cut like any other, however cleanly the connection closed. Whole lines without
  // the blank line after them go on as they came: a reader drops an event never ended, as it would have.
  const last = pending[pending.length - 1];
  if (last === LF || last === CR) yield pending;
  else yield cutOff(`the ${who} upstream's stream ended in the middle of an event`, "upstream_stream_truncated", lastSent);
}
