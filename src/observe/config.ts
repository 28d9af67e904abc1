// Config sections for observability (metrics, log, tracing), kept apart from config.ts so that file stays small.
import { z } from "zod";
import { headerSecret, serviceUrl } from "../util/config-fields";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * What a logger has at a level it drops. The redacting logger (src/redact.ts) passes it on as it is, and the request
 * log line is not even built for it: an event below the level is neither serialised nor scanned for secrets.
 */
export const dropEvent = (): void => undefined;

/** The longest a timer can wait: setTimeout takes a longer delay as 1 ms, so a longer setting would fire at once. */
export const TIMER_MAX_MS = 2_147_483_647;
export const TIMER_TOO_LONG = `must be at most ${TIMER_MAX_MS} ms (about 24.8 days): a timer fires at once past it`;

const metricsSchema = z.strictObject({
  /** GET /metrics in Prometheus text format; off, the route answers 404 and nothing is counted. */
  enabled: z.boolean().default(true),
  /** When set, scrapes must send `Authorization: Bearer <token>`. */
  token: headerSecret().optional(),
});

const logSchema = z.strictObject({
  level: z.enum(LOG_LEVELS).default("info"),
  /** Puts the request's messages and the returned answer into the request log line. Off: never logged. */
  content: z.boolean().default(false),
});

const tracingSchema = z.strictObject({
  /** OTLP/HTTP collector base URL (spans go to {otlp_endpoint}/v1/traces); unset, no spans are made. */
  otlp_endpoint: serviceUrl("tracing.headers").optional(),
  /** Sent only to the collector (e.g. its auth header). */
  headers: z.record(z.string(), headerSecret()).default({}),
  service_name: z.string().min(1).default("verdict"),
  /** Share of new traces recorded; a client's traceparent decides for its own trace. */
  sample_ratio: z.number().min(0).max(1).default(1),
  batch_size: z.number().int().positive().default(256),
  /** Spans waiting for export beyond this are dropped (and counted), never queued without bound. */
  max_queue: z.number().int().positive().default(4096),
  flush_ms: z.number().int().min(0).max(TIMER_MAX_MS, TIMER_TOO_LONG).default(1000),
  timeout_ms: z.number().int().positive().max(TIMER_MAX_MS, TIMER_TOO_LONG).default(5000),
});

export const observabilityFields = {
  metrics: metricsSchema.prefault({}),
  log: logSchema.prefault({}),
  tracing: tracingSchema.prefault({}),
};
