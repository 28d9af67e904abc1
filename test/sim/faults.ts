// Fault injection for the simulator: which faults exist, how often each role suffers them, and a seeded picker.
import { z } from "zod";
import { seededRandom } from "./random";

export const FAULT_KINDS = [
  "status_429", // rate limited, no hint when to come back
  "status_429_retry_after", // rate limited with retry-after / retry-after-ms
  "status_500",
  "status_502",
  "status_503",
  "reset", // connection reset before any byte of the answer
  "hang", // no answer for hang_ms (meant to be longer than the caller's timeout)
  "slow_first_byte", // the answer starts slow_first_byte_ms late, then is normal
  "truncated_json", // the body stops halfway and the connection drops
  "malformed_json", // 200, content-type JSON, body that is not JSON
  "truncated_sse", // a stream stops halfway, no [DONE]
  "garbage", // 200 and well-formed, but the text is noise (a judge: no verdict in it)
  "empty", // 200 and well-formed, with empty text
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];
export type SimRole = "generator" | "judge";

const kind = z.enum(FAULT_KINDS);

const roleFaultsSchema = z
  .object({
    /** Probability that a call of this role suffers a fault; the kind is drawn uniformly from `kinds`. */
    rate: z.number().min(0).max(1).default(0),
    kinds: z.array(kind).min(1).default([...FAULT_KINDS]),
    /** The first calls of this role, in order ("ok": no fault); `rate` applies once the script is used up. */
    script: z.array(z.union([kind, z.literal("ok")])).default([]),
  })
  .prefault({});

export const faultsSchema = z
  .object({
    generator: roleFaultsSchema,
    judge: roleFaultsSchema,
    hang_ms: z.number().min(0).default(60_000),
    slow_first_byte_ms: z.number().min(0).default(500),
    /** What status_429_retry_after asks for (sent as retry-after-ms and, rounded up, retry-after). */
    retry_after_ms: z.number().min(0).default(1_000),
    /** Error bodies repeat the request's headers back, as careless upstreams do (tests that keys are scrubbed). */
    echo_headers: z.boolean().default(false),
  })
  .prefault({});

export type FaultOptions = z.infer<typeof faultsSchema>;

export interface FaultPicker {
  /** The fault for the next call of `role`, or null. */
  pick(role: SimRole): FaultKind | null;
  /** Faults injected so far, by role and kind. */
  readonly injected: Record<SimRole, Partial<Record<FaultKind, number>>>;
}

export function createFaultPicker(options: FaultOptions, seed: number): FaultPicker {
  // Its own stream of randomness, so turning faults on does not change the texts or the judge's noise.
  const random = seededRandom((seed ^ 0x5eed_fa17) >>> 0);
  const calls: Record<SimRole, number> = { generator: 0, judge: 0 };
  const injected: FaultPicker["injected"] = { generator: {}, judge: {} };
  return {
    injected,
    pick(role) {
      const spec = options[role];
      const index = calls[role]++;
      let fault: FaultKind | null;
      if (index < spec.script.length) {
        const scripted = spec.script[index]!;
        fault = scripted === "ok" ? null : scripted;
      } else {
        fault = spec.rate > 0 && random() < spec.rate ? spec.kinds[Math.floor(random() * spec.kinds.length)]! : null;
      }
      if (fault) injected[role][fault] = (injected[role][fault] ?? 0) + 1;
      return fault;
    },
  };
}

/** Replaces the texts of a completion for content faults (garbage, empty); other faults leave them alone. */
export function faultyTexts(texts: string[], fault: FaultKind | null, random: () => number): string[] {
  if (fault === "empty") return texts.map(() => "");
  if (fault !== "garbage") return texts;
  const noise = "qzx vlorp ~~ 7f3a ## ¿¿ ... nonsense tokens ]]] {{ ";
  return texts.map(() => noise.repeat(1 + Math.floor(random() * 3)).trim());
}
