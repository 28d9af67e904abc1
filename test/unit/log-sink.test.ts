// Log lines are batched per turn of the event loop, but none is lost or reordered, and none is left behind on exit; the
// JSON logger writes an event the redacting logger already serialised without serialising it again.
import { execFileSync, spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { batchedSink, type StreamName } from "../../src/adapters/log-sink";
import { createJsonLogger, isoClock } from "../../src/adapters/node";

function recording() {
  const writes: { stream: StreamName; text: string }[] = [];
  let pendingFlush: (() => void) | undefined;
  const sink = batchedSink(
    (stream, text) => writes.push({ stream, text }),
    (flush) => (pendingFlush = flush),
  );
  const runTurn = () => {
    const flush = pendingFlush;
    pendingFlush = undefined;
    flush?.();
  };
  return { sink, writes, runTurn, scheduled: () => pendingFlush !== undefined };
}

describe("batched log sink", () => {
  it("writes the lines of one turn in the order they came, one write per run of one stream, each ending in a newline", () => {
    const { sink, writes, runTurn } = recording();
    sink.out('{"n":1}');
    sink.out('{"n":2}');
    sink.err('{"n":3}');
    sink.out('{"n":4}');
    expect(writes).toEqual([]);
    runTurn();
    // Merged (2>&1, a container's log), the streams must still read in order.
    expect(writes).toEqual([
      { stream: "out", text: '{"n":1}\n{"n":2}\n' },
      { stream: "err", text: '{"n":3}\n' },
      { stream: "out", text: '{"n":4}\n' },
    ]);
  });

  it("schedules one flush per turn and a new one for lines after it", () => {
    const { sink, writes, runTurn, scheduled } = recording();
    expect(scheduled()).toBe(false);
    sink.out("a");
    sink.out("b");
    runTurn();
    expect(scheduled()).toBe(false);
    sink.out("c");
    expect(scheduled()).toBe(true);
    runTurn();
    expect(writes.map((w) => w.text)).toEqual(["a\nb\n", "c\n"]);
  });

  it("flush() writes what is pending at once", () => {
    const { sink, writes } = recording();
    sink.err("late");
    sink.flush();
    expect(writes).toEqual([{ stream: "err", text: "late\n" }]);
  });

  it("after close(), writes what was pending and then every line at once", () => {
    const { sink, writes, scheduled } = recording();
    sink.out("pending");
    sink.close();
    sink.err("after");
    expect(scheduled()).toBe(true); // the flush scheduled for "pending" never matters now
    expect(writes).toEqual([
      { stream: "out", text: "pending\n" },
      { stream: "err", text: "after\n" },
    ]);
  });

  it("loses no line when the process exits right after logging, nor one logged while it exits", () => {
    const script = `
      const { createJsonLogger } = await import(${JSON.stringify(new URL("../../src/adapters/node.ts", import.meta.url).pathname)});
      const logger = createJsonLogger("info");
      for (let i = 0; i < 500; i++) logger.info({ event: "line", i });
      logger.error({ event: "last" });
      process.on("exit", () => logger.error({ event: "while exiting" }));
      process.exit(3);
    `;
    let stdout = "";
    let stderr = "";
    try {
      execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", stdio: "pipe" });
    } catch (err) {
      const failed = err as { status: number; stdout: string; stderr: string };
      expect(failed.status).toBe(3);
      stdout = failed.stdout;
      stderr = failed.stderr;
    }
    const lines = stdout.trim().split("\n").map((line) => JSON.parse(line) as { i: number });
    expect(lines.map((line) => line.i)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(stderr).toContain('"event":"last"');
    expect(stderr).toContain('"event":"while exiting"');
  });
});

describe("stdio sink", () => {
  it("keeps the process alive when whoever read its stdout has gone (EPIPE), and says so once on stderr", async () => {
    const script = `
      const { createJsonLogger } = await import(${JSON.stringify(new URL("../../src/adapters/node.ts", import.meta.url).pathname)});
      const logger = createJsonLogger("info");
      process.stdin.once("data", async () => {
        for (let turn = 0; turn < 50; turn++) {
          logger.info({ event: "line", turn });
          await new Promise((next) => setTimeout(next, 2));
        }
        process.stderr.write("still serving\\n");
      });
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    child.stdout.destroy(); // the reader goes away before the first line
    child.stdin.end("go");
    const code = await new Promise<number | null>((exited) => child.once("exit", exited));
    expect(stderr).toContain("still serving");
    expect(stderr.match(/"event":"log_stream_closed"/g)).toHaveLength(1);
    expect(stderr).toContain('"stream":"stdout","code":"EPIPE"');
    expect(code).toBe(0);
  }, 20_000);
});

describe("log timestamps", () => {
  it("are what toISOString gives, across seconds, back and forth, and through a leap day and a new year", () => {
    let ms = 0;
    const time = isoClock(() => ms);
    const moments = [
      Date.UTC(2026, 10, 29, 10, 0, 0, 0), Date.UTC(2026, 10, 29, 10, 0, 0, 7), Date.UTC(2026, 10, 29, 10, 0, 0, 999),
      Date.UTC(2026, 10, 29, 10, 0, 1, 0), Date.UTC(2026, 10, 29, 10, 0, 0, 500), // the clock stepped back a second
      Date.UTC(2028, 1, 29, 23, 59, 59, 42), Date.UTC(2030, 11, 31, 23, 59, 59, 999), Date.UTC(2031, 0, 1, 0, 0, 0, 0),
      0, -1, -1_500, // at and before the epoch, where a second's milliseconds still count up from its start
      1.5, -0.5, Date.UTC(2026, 10, 29, 10, 0, 0, 999) + 0.75, // fractions of a millisecond, cut off as Date does
    ];
    for (const moment of moments) {
      ms = moment;
      expect(time()).toBe(new Date(moment).toISOString());
    }
  });
});

describe("JSON logger", () => {
  const at = new Date("2026-11-29T10:00:00.000Z");
  const lines = (serialise: boolean) => {
    const written: string[] = [];
    const logger = createJsonLogger("info", { out: (line) => written.push(line), err: (line) => written.push(line) }, () => at.getTime());
    const event = { event: "request", status: 200, route: "chat_completions", nested: { a: [1, "x"] } };
    logger.info(event, serialise ? JSON.stringify(event) : undefined);
    logger.debug?.(event, serialise ? JSON.stringify(event) : undefined);
    return written;
  };

  it("writes an already serialised event as the line it would have made itself, level and time first", () => {
    const [spliced] = lines(true);
    const [serialised] = lines(false);
    expect(lines(true)).toHaveLength(1); // debug is below the level either way
    expect(JSON.parse(spliced!)).toEqual(JSON.parse(serialised!));
    expect(spliced).toBe(serialised);
    expect(spliced!.startsWith('{"level":"info","time":"2026-11-29T10:00:00.000Z",')).toBe(true);
  });

  it("takes the serialised text as given: it is the redacted one", () => {
    const written: string[] = [];
    const logger = createJsonLogger("info", { out: (line) => written.push(line), err: (line) => written.push(line) }, () => at.getTime());
    logger.warn({ key: "sk-live-secret" }, '{"key":"[redacted]"}');
    expect(written).toEqual(['{"level":"warn","time":"2026-11-29T10:00:00.000Z","key":"[redacted]"}']);
  });
});
