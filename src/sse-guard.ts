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

export interface GuardOptions {
  /** Names the upstream in error events. */
  who?: string;
  cutOff?: CutOffEvent;
  /** A stream that sends nothing for this long is ended, with an error event saying so (generator.timeout_ms). */
  idleMs?: number;
}

/**
 * The events of an upstream's stream, whole ones only; a cut-off or stalled stream ends with an error event instead
 * (chat completions' by default). A reader that stops early (the client left) ends the upstream's stream at once.
 */
export function guardEvents(chunks: AsyncIterable<Uint8Array>, options: GuardOptions = {}): AsyncIterableIterator<Uint8Array> {
  const source = chunks[Symbol.asyncIterator]();
  return stoppable(wholeEvents(source, options), source);
}

/**
 * Ends `source` once nothing has come for `idleMs`. One timer for the whole stream, set again only when it fires: a
 * timer per chunk would cost more than the chunk. `quiet()` says whether it ended the stream.
 */
function idleWatch(source: AsyncIterator<Uint8Array>, idleMs: number | undefined) {
  let last = Date.now();
  let stalled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = () => {
    const quiet = Date.now() - last;
    if (quiet < idleMs!) return void (timer = setTimeout(check, idleMs! - quiet));
    stalled = true;
    void source.return?.().catch(() => undefined); // settles the read that waits
  };
  if (idleMs !== undefined) timer = setTimeout(check, idleMs);
  return {
    heard: () => void (last = Date.now()),
    stalled: () => stalled,
    stop: () => {
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}

async function* wholeEvents(source: AsyncIterator<Uint8Array>, { who = "generator", cutOff = errorEvent, idleMs }: GuardOptions): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array = new Uint8Array(0);
  let lastSent: Uint8Array = pending;
  const idle = idleWatch(source, idleMs);
  const stalledEvent = () => cutOff(`the ${who} upstream's stream sent nothing for ${idleMs} ms`, "upstream_stream_timeout", lastSent);
  try {
    for (;;) {
      let read: IteratorResult<Uint8Array>;
      try {
        read = await source.next();
      } catch {
        yield idle.stalled() ? stalledEvent() : cutOff(`the ${who} upstream's stream was cut off before it finished`, "upstream_stream_truncated", lastSent);
        return;
      }
      if (idle.stalled()) return void (yield stalledEvent());
      if (read.done) break;
      idle.heard();
      const buffered = concat(pending, read.value);
      const end = lastEventEnd(buffered);
      if (end > 0) yield (lastSent = buffered.subarray(0, end));
      // A copy (Buffer's slice() would be a view): a view would keep the whole upstream read alive for a partial event.
      pending = new Uint8Array(buffered.subarray(end));
    }
  } finally {
    idle.stop();
  }
  if (pending.length === 0) return;
  // An end in the middle of a line is a cut like any other, however cleanly the connection closed. Whole lines without
  // the blank line after them go on as they came: a reader drops an event never ended, as it would have.
  const last = pending[pending.length - 1];
  if (last === LF || last === CR) yield pending;
  else yield cutOff(`the ${who} upstream's stream ended in the middle of an event`, "upstream_stream_truncated", lastSent);
}
