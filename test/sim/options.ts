// The simulator's knobs, as a zod schema with defaults: a bare `{}` is a fast, perfect, n-capable upstream.
import { z } from "zod";
import { faultsSchema } from "./faults";

const latencySchema = z
  .object({
    /** Time to first token. */
    ttft_ms: z.number().min(0).default(0),
    /** 0 means the whole text arrives with the first token. */
    tokens_per_second: z.number().min(0).default(0),
    /** Each delay is scaled by a uniform factor in [1 - jitter, 1 + jitter]. */
    jitter: z.number().min(0).max(1).default(0),
    /** Adds a uniform draw in [0, spread_ms] per call: candidates that finish at very different times. */
    spread_ms: z.number().min(0).default(0),
  })
  .prefault({});

export const simOptionsSchema = z.object({
  seed: z.number().int().default(1),
  /** When false, a request with n > 1 gets a 400 naming `n`, as some servers answer. */
  supports_n: z.boolean().default(true),
  generator: z
    .object({
      latency: latencySchema,
      min_sentences: z.number().int().min(1).default(1),
      max_sentences: z.number().int().min(1).default(4),
      /** Fixed answers handed out in turn, one per choice, instead of generated text (tests build candidates). */
      answers: z.array(z.string()).optional(),
      /** How many distinct answers a prompt can get (0: unlimited); 1 makes every candidate identical. */
      variants: z.number().int().min(0).default(0),
      /** With `tools` and tool_choice auto: the share of draws that call a tool instead of answering. */
      tool_call_rate: z.number().min(0).max(1).default(0.5),
      /** With response_format json_object / json_schema: the share of answers that are broken JSON. */
      invalid_json_rate: z.number().min(0).max(1).default(0.25),
    })
    .prefault({}),
  judge: z
    .object({
      latency: latencySchema,
      /** Error model (see test/sim/judge.ts): "flat" is right with probability `accuracy`; "gap" by quality gap. */
      model: z.enum(["flat", "gap"]).default("flat"),
      /** flat: probability of naming the truly better answer when not swayed by position. */
      accuracy: z.number().min(0).max(1).default(1),
      /** gap: the quality gap at which the judge is right about 73% of the time (1 / (1 + e^-1)). */
      tau: z.number().positive().default(0.1),
      /** Probability of naming whichever answer is shown first, regardless of quality. */
      bias: z.number().min(0).max(1).default(0),
      /** Share of groundedness verdicts flipped, decided per input (test/sim/grounding.ts). */
      grounding_error_rate: z.number().min(0).max(1).default(0),
      /** "json" answers the asked-for JSON; "text" answers prose ending in [[A]] / [[B]]. */
      style: z.enum(["json", "text"]).default("json"),
    })
    .prefault({}),
  /** Fault injection per role (test/sim/faults.ts); off by default. */
  faults: faultsSchema,
  /** Keep every request in `sim.requests`; long runs (the soak) turn it off so the simulator's memory stays flat. */
  record_requests: z.boolean().default(true),
});

export type SimOptions = z.infer<typeof simOptionsSchema>;
export type SimOptionsInput = z.input<typeof simOptionsSchema>;
export type LatencyModel = SimOptions["judge"]["latency"];
