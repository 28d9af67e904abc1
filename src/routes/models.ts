// GET /v1/models: the generator's models plus the virtual models configured here; GET /v1/models/{id} answers for a
// virtual model itself (the generator has never heard of it) and passes any other id through.
import type { Context } from "hono";
import type { AppContext } from "../app";
import { generatorFor } from "../byok";
import { cancelledError } from "../errors";
import { probeOf } from "../observe/middleware";
import { passThrough, pathBelowV1 } from "../passthrough";

interface ModelList {
  object: "list";
  data: Record<string, unknown>[];
}

const virtualModel = (id: string) => ({ id, object: "model", created: 0, owned_by: "verdict" });

/** A path segment decoded; null when its %-escapes are malformed (then it is no virtual model's name). */
function decodedOrNull(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** One model, as the SDKs' models.retrieve asks for it. */
export function retrieveModel(c: Context, ctx: AppContext): Response | Promise<Response> {
  // The rest of the path, slashes and all: model ids such as "meta-llama/Llama-3.3-70B" have them.
  const path = pathBelowV1(c.req.raw);
  const id = decodedOrNull(path.slice("/models/".length));
  if (id !== null && Object.hasOwn(ctx.config.models, id)) return c.json(virtualModel(id));
  return passThrough(generatorFor(ctx, c.req.raw.headers).target, c.req.raw, path, undefined, probeOf(c).headers);
}

export async function listModels(c: Context, ctx: AppContext): Promise<Response> {
  // A HEAD has no list to merge: the generator's answer, headers only, is the answer.
  if (c.req.method === "HEAD") return passThrough(generatorFor(ctx, c.req.raw.headers).target, c.req.raw, "/models", undefined, probeOf(c).headers);
  const virtual = Object.keys(ctx.config.models).map(virtualModel);
  let upstream: ModelList = { object: "list", data: [] };
  let degraded = false;
  try {
    const response = await passThrough(generatorFor(ctx, c.req.raw.headers).target, c.req.raw, "/models", undefined, probeOf(c).headers);
    // A key the generator refuses (the client's own, bringing it; or the deployment's) is no outage to paper over with
    // an empty list: its 401 or 403 goes to the client, as a chat completion's would.
    if (response.status === 401 || response.status === 403) return response;
    if (!response.ok) throw new Error(`status ${response.status}`);
    const parsed = (await response.json()) as Partial<ModelList>;
    if (Array.isArray(parsed.data)) upstream = { ...parsed, object: "list", data: parsed.data };
  } catch (err) {
    // A client that left is no outage: its request ends as cancelled (499), not as a list with a warning.
    if (c.req.raw.signal.aborted) throw cancelledError();
    // Listing models should not fail because the generator is down: the virtual models are still real routes.
    degraded = true;
    ctx.logger.warn({ event: "upstream_models_unavailable", error: String((err as Error)?.message ?? err) });
  }
  const data = [...upstream.data.filter((m) => !(typeof m.id === "string" && Object.hasOwn(ctx.config.models, m.id))), ...virtual];
  return c.json({ ...upstream, data }, 200, degraded ? { "x-verdict-degraded": "upstream_models_unavailable" } : {});
}
