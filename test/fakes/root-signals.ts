// A fake of the Root Signals evaluator API (from its public OpenAPI description): checks the Api-Key header and the
// request body, scores deterministically, and can be told to fail the next calls (401, 429, 5xx, null score).
import { Hono } from "hono";
import { z } from "zod";
import { simulatedGrounding } from "../sim/grounding";
import { qualityOf } from "../sim/random";

const executeBody = z.strictObject({
  request: z.string(),
  response: z.string(),
  contexts: z.array(z.string()).optional(),
  expected_output: z.string().optional(),
  tags: z.array(z.string()).optional(),
  variables: z.record(z.string(), z.string()).optional(),
});

/** "quality": the simulator's hidden quality of the response; "grounded": 0.9 when the contexts back it, else 0.1. */
export type EvaluatorKind = "quality" | "grounded";

/**
 * What the next run does: fail with a status, answer without a score, answer a gateway's HTML page with a 200, or
 * (`none`) answer as usual.
 */
export type Fault = { status: number; retryAfter?: string } | { nullScore: true } | { html: true } | { none: true };

export interface RootSignalsFake {
  app: Hono;
  runs: { evaluator: string; body: z.infer<typeof executeBody> }[];
  failNext(...faults: Fault[]): void;
}

export function createRootSignalsFake(apiKey: string, evaluators: Record<string, { id: string; kind: EvaluatorKind }>): RootSignalsFake {
  const runs: RootSignalsFake["runs"] = [];
  const faults: Fault[] = [];
  const app = new Hono();

  const execute = async (c: import("hono").Context, name: string | undefined) => {
    if (c.req.header("authorization") !== `Api-Key ${apiKey}`) return c.json({ detail: "Invalid API key." }, 401);
    if (!name) return c.json({ detail: "Evaluator not found." }, 404);
    let parsed;
    try {
      parsed = executeBody.safeParse(await c.req.json());
    } catch {
      return c.json({ detail: "JSON parse error" }, 400);
    }
    if (!parsed.success) return c.json({ detail: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`) }, 400);
    const fault = faults.shift();
    if (fault && "status" in fault) {
      return c.json({ detail: "simulated failure" }, fault.status as 429, fault.retryAfter ? { "retry-after": fault.retryAfter } : {});
    }
    if (fault && "html" in fault) return c.html("<html><body>Please wait while we check your browser</body></html>");
    const evaluator = evaluators[name]!;
    const body = parsed.data;
    if (evaluator.kind === "grounded" && !body.contexts?.length) return c.json({ detail: "contexts are required by this evaluator" }, 400);
    runs.push({ evaluator: name, body });
    const score =
      evaluator.kind === "quality"
        ? qualityOf(body.response)
        : simulatedGrounding(body.response, body.contexts!.join("\n\n---\n\n"), 0, 1).verdict === "PASS" ? 0.9 : 0.1;
    return c.json({
      evaluator_name: name,
      score: fault && "nullScore" in fault ? null : score,
      justification: `fake ${evaluator.kind} evaluator scored ${score.toFixed(3)}`,
      cost: 0.001,
      execution_log_id: `log-${runs.length}`,
    });
  };

  app.post("/v1/evaluators/execute/by-name/", (c) => {
    const name = c.req.query("name");
    return execute(c, name !== undefined && name in evaluators ? name : undefined);
  });
  app.post("/v1/evaluators/execute/:id/", (c) => execute(c, Object.keys(evaluators).find((n) => evaluators[n]!.id === c.req.param("id"))));
  return { app, runs, failNext: (...next) => faults.push(...next) };
}
