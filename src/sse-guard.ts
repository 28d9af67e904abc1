// Relays an upstream SSE body event by event; if the upstream cuts off mid-stream, the client gets a well-formed
// error event instead of half an event and a dead socket.
//
// Only whole events (ending in a blank line) are forwarded, so a cut never leaves the client a partial `data:` line.
// OpenAI's SDKs turn a `data: {"error": ...}` event into a thrown APIError, which is the clean failure a streaming
// client can act on; an upstream that simply ends is passed on as it is. Other streamed bodies (files, audio) are
// relayed as they come, under the same bound on a stream that makes no progress (guardChunks).

import { encodeEvent } from "./openai/sse";
import { stoppable } from "./util/body-chunks";
import { joinBytes } from "./util/join-bytes";

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
 * Another kind of streamed body (a file, audio): relayed chunk by chunk as it comes, and ended once it makes no
 * progress for `idleMs` (the upstream silent, or the client not reading), as an SSE stream is, so that neither side
 * holds the generator's slot for ever. There is no event to end it with: the client sees the transfer cut, as from an
 * upstream that died, and so it does when the upstream's stream breaks.
 */
export function guardChunks(chunks: AsyncIterable<Uint8Array>, idleMs: number | undefined, who = "generator"): AsyncIterableIterator<Uint8Array> {
  const source = chunks[Symbol.asyncIterator]();
  return stoppable(chunksUntilStalled(source, idleMs, who), source);
}

async function* chunksUntilStalled(source: AsyncIterator<Uint8Array>, idleMs: number | undefined, who: string): AsyncGenerator<Uint8Array> {
  const idle = idleWatch(source, idleMs);
  const failure = () => cutShort(idle.stall(who)?.message ?? `the ${who} upstream's stream was cut off before it finished`);
  try {
    for (;;) {
      let read: IteratorResult<Uint8Array>;
      try {
        read = await idle.next();
      } catch {
        throw failure();
      }
      if (idle.stall(who)) throw failure();
      if (read.done) return;
      yield read.value;
    }
  } finally {
    idle.stop();
  }
}

/**
 * The failure that cuts a relayed body short. The Node server prints what a response stream fails with; this is an
 * outcome to note in one line, not a fault to trace, so its stack is its message.
 */
function cutShort(message: string): Error {
  const err = new Error(message);
  err.stack = `verdict: ${message}`;
  return err;
}

/**
 * Ends `source` once the stream has made no progress for `idleMs`, and says which side stalled. Waiting on a read of
 * the upstream, the upstream is silent; holding an event the client has not taken, the client is: its own clock, so
 * that a slow reader is never blamed on the upstream, and so that one that stops reading (but stays connected) does not
 * hold the upstream call, and its generator slot, for ever. One timer for the whole stream, set again only when it
 * fires: a timer per chunk would cost more than the chunk.
 */
function idleWatch(source: AsyncIterator<Uint8Array>, idleMs: number | undefined) {
  let since = Date.now();
  let reading = false;
  let stalled: "upstream" | "client" | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = () => {
    const quiet = Date.now() - since;
    if (quiet < idleMs!) return void (timer = setTimeout(check, idleMs! - quiet));
    stalled = reading ? "upstream" : "client";
    void source.return?.().catch(() => undefined); // settles the read that waits, or ends the call the client left idle
  };
  if (idleMs !== undefined) timer = setTimeout(check, idleMs);
  return {
    /** The upstream's next read, timed: while it waits the upstream is silent, after it the client has the chunk. */
    async next(): Promise<IteratorResult<Uint8Array>> {
      reading = true;
      since = Date.now();
      const read = await source.next();
      reading = false;
      since = Date.now();
      return read;
    },
    /** Which side stalled and ended the stream, in words and as a code; null while neither has. */
    stall(who: string): { message: string; code: string } | null {
      if (stalled === null) return null;
      return stalled === "client"
        ? { message: `the client read nothing for ${idleMs} ms, so the ${who} upstream's stream was closed`, code: "client_stream_stalled" }
        : { message: `the ${who} upstream's stream sent nothing for ${idleMs} ms`, code: "upstream_stream_timeout" };
    },
    stop: () => {
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}

/** An event this large is no chat chunk: the stream is ended rather than buffered on (src/exchange.ts has the same for JSON). */
export const MAX_EVENT_BYTES = 16 * 1024 * 1024;

/** What an upstream's stream has sent of an event not yet ended: its reads, kept as they came until the event ends. */
class PendingEvent {
  private parts: Uint8Array[] = [];
  length = 0;

  add(part: Uint8Array): void {
    if (part.length === 0) return;
    this.parts.push(part);
    this.length += part.length;
  }

  /** The last `count` bytes (fewer when there are not that many): where an event boundary may begin. */
  tail(count: number): Uint8Array {
    const last = this.parts.at(-1);
    if (last === undefined) return new Uint8Array(0);
    if (last.length >= count || this.parts.length === 1) return last.subarray(Math.max(0, last.length - count));
    // Reads shorter than the tail: its bytes gathered from the last few of them, nothing else copied.
    const bytes: number[] = [];
    for (let i = this.parts.length - 1; i >= 0 && bytes.length < count; i--) {
      const part = this.parts[i]!;
      for (let j = part.length - 1; j >= 0 && bytes.length < count; j--) bytes.unshift(part[j]!);
    }
    return Uint8Array.from(bytes);
  }

  /** Everything pending as one array, and nothing pending after. */
  take(): Uint8Array {
    const joined = joinBytes(this.parts);
    this.parts = [];
    this.length = 0;
    return joined;
  }
}

const DONE_LINE = /(?:^|\n)data: ?\[DONE\]\s*$/;
const COLON = 0x3a;

/** Whether whole events end with `data: [DONE]` (read from their last bytes only: every stream's batches pass here). */
function endsWithDone(events: Uint8Array): boolean {
  let last = events.length - 1;
  while (last >= 0 && (events[last] === LF || events[last] === CR || events[last] === 0x20)) last--;
  return events[last] === 0x5d /* ] */ && DONE_LINE.test(new TextDecoder().decode(events.subarray(Math.max(0, last - 63), last + 1)));
}

async function* wholeEvents(source: AsyncIterator<Uint8Array>, { who = "generator", cutOff = errorEvent, idleMs }: GuardOptions): AsyncGenerator<Uint8Array> {
  // Each read is looked at once: a boundary is searched in the read and the three bytes before it, and the reads of
  // an event not yet ended are joined only when it ends. Joining and searching all that was pending on every read cost
  // time that grew with the square of an event's size (16 MiB: 9 s of CPU, and every other request waited).
  const pending = new PendingEvent();
  let lastSent: Uint8Array = new Uint8Array(0);
  const idle = idleWatch(source, idleMs);
  const stalledEvent = () => {
    const stall = idle.stall(who)!;
    return cutOff(stall.message, stall.code, lastSent);
  };
  try {
    for (;;) {
      let read: IteratorResult<Uint8Array>;
      try {
        read = await idle.next();
      } catch {
        yield idle.stall(who) ? stalledEvent() : cutOff(`the ${who} upstream's stream was cut off before it finished`, "upstream_stream_truncated", lastSent);
        return;
      }
      if (idle.stall(who)) return void (yield stalledEvent());
      if (read.done) break;
      const value = read.value;
      const tail = pending.tail(3);
      const probe = joinBytes([tail, value]);
      // Past the last boundary in this read (none lies in the tail alone: it was looked at with the read before).
      const end = lastEventEnd(probe) - tail.length;
      if (end > 0) {
        pending.add(value.subarray(0, end));
        const events = pending.take();
        // A keep-alive comment alone carries no event: a Responses cut-off is numbered after the last one that did.
        if (!(events[0] === COLON && events.length < 64)) lastSent = events;
        yield events;
        // After [DONE] the stream is complete, whatever the upstream does with its connection: one that held it open
        // held the generator's slot, and the client's stream, until generator.timeout_ms, then got an error after [DONE].
        if (endsWithDone(events)) {
          void source.return?.().catch(() => undefined);
          return;
        }
        // A copy (Buffer's slice() would be a view): a view would keep the whole upstream read alive for a partial event.
        pending.add(new Uint8Array(value.subarray(end)));
      } else {
        pending.add(value);
      }
      if (pending.length > MAX_EVENT_BYTES) {
        void source.return?.().catch(() => undefined);
        yield cutOff(`the ${who} upstream sent an event larger than ${MAX_EVENT_BYTES / 1024 / 1024} MiB`, "upstream_event_too_large", lastSent);
        return;
      }
    }
  } finally {
    idle.stop();
  }
  if (pending.length === 0) return;
  const rest = pending.take();
  // An end in the middle of a line is a cut like any other, however cleanly the connection closed. Whole lines without
  // the blank line after them go on as they came: a reader drops an event never ended, as it would have. A last
  // `data: [DONE]` without its line end says the stream is complete, as the SDKs read it: it goes on, ended.
  const last = rest[rest.length - 1];
  if (last === LF || last === CR) yield rest;
  else if (endsWithDone(rest)) yield joinBytes([rest, new TextEncoder().encode("\n\n")]);
  else yield cutOff(`the ${who} upstream's stream ended in the middle of an event`, "upstream_stream_truncated", lastSent);
}
