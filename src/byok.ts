// Bring-your-own-key: with auth.forward_client_key, each request's generator calls carry the client's own key.
import type { AppContext } from "./app";
import { clientUpstreamKey, type HeaderSource } from "./auth";
import type { PassThroughTarget } from "./passthrough";
import type { PipelineDeps } from "./pipeline";
import type { Upstream } from "./upstream";
import { withFields } from "./util/with-fields";

/** Empty values take out the operator's account headers a chat call would send (src/chat-call.ts drops empty ones). */
const NOT_THE_OPERATORS = { "openai-organization": "", "openai-project": "" };

/** The same upstream (queue, retries) with a client that sends `apiKey`; built per request, cheap next to a call. */
function withKey(upstream: Upstream, apiKey: string): Upstream {
  // defaultHeaders is replaced, not merged: the shared client may carry `Authorization: null` when no key is configured.
  // The operator's organization and project are not sent with a client's key: they are not the client's account.
  const client = upstream.client.withOptions({ apiKey, defaultHeaders: {}, organization: null, project: null });
  return {
    role: upstream.role,
    baseURL: upstream.baseURL,
    client,
    chat: (body, signal, headers) => upstream.chat(body, signal, withFields(headers ?? {}, { authorization: `Bearer ${apiKey}`, ...NOT_THE_OPERATORS })),
    schedule: upstream.schedule,
    admit: upstream.admit,
    refusesNow: () => upstream.refusesNow(),
    get pending() {
      return upstream.pending;
    },
  };
}

/**
 * What the generator should be called with for this request. The judge keeps its configured key: judging is the
 * operator's service, and a client's generator key may not even be valid on the judge's server.
 */
export function generatorFor(ctx: AppContext, headers: HeaderSource): { pipeline: PipelineDeps; target: PassThroughTarget } {
  const key = clientUpstreamKey(headers, ctx.config.auth);
  if (key === undefined) return { pipeline: ctx.pipeline, target: ctx.generatorTarget };
  return {
    pipeline: { ...ctx.pipeline, generator: withKey(ctx.pipeline.generator, key) },
    // The client's key: the organization and project it names are its own to choose.
    target: { ...ctx.generatorTarget, apiKey: key, account: undefined },
  };
}
