// Draws N candidates from the generator: one call with `n` where the upstream allows it, else parallel calls.
// Candidates are yielded as they arrive so judging can start before the slowest one is done.
import type OpenAI from "openai";
import type { Candidate, DrawMeta } from "../strategies/types";
import { ProxyError } from "./errors";
import { addUsage, contentText, hasMessage, messageText, withoutInlineReasoning, ZERO_USAGE, type InlineReasoning, type Usage } from "./openai/chat";
import { noopProbe, type GenerationWatch, type RequestProbe } from "./observe/probe";
import { apiErrorFromBody, errorInsteadOfAnswer, streamedDraw, type StreamedDraw } from "./sample-stream";
import { upstreamFailure, type Upstream } from "./upstream";
import { createChannel } from "./util/channel";
import { completionMeta, otherFields } from "./util/other-fields";
import { withFields } from "./util/with-fields";

type ChatCompletion = OpenAI.Chat.Completions.ChatCompletion;

/** Whether the generator accepts `n`; "auto" learns it when an `n` call gets a 400 that a call without `n` gets past. */
export interface NSupport {
  value: boolean | "auto";
  /**
   * Under "auto", the kinds of request (model, whether sampling is greedy, which parameters are set) whose `n` was
   * refused. Learnt per kind, not for the whole generator: vLLM refuses `n` only with temperature 0, OpenAI refuses it
   * beside `prediction`, and one model may take it where another does not; one client's request must not change how
   * every other is drawn.
   */
  refused?: Set<string>;
}

/** Kinds remembered at most: a client names the model, so what is learnt must not grow without end. */
const MAX_REMEMBERED_KINDS = 1_000;

/** A reasoning model's reasoning beside the content (vLLM's and SGLang's `reasoning_content`, some servers' `reasoning`). */
const reasoningLength = (message: Record<string, unknown>) =>
  (typeof message.reasoning_content === "string" ? message.reasoning_content.length : 0) + (typeof message.reasoning === "string" ? message.reasoning.length : 0);

/** How an answer that is not a usable candidate is reported. */
const BAD_ANSWER = { type: "upstream_error", code: "generator_bad_response" } as const;

/**
 * Settings that come and go from one request to the next without a bearing on `n`, left out of a request's kind: a
 * client that sometimes sends `user` or `seed` would otherwise learn the refusal again, one serial call each time.
 */
const UNRELATED_TO_N = new Set([
  "model", "messages", "temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "user", "metadata", "store",
  "service_tier", "stop", "presence_penalty", "frequency_penalty", "logit_bias", "safety_identifier", "prompt_cache_key",
  "n", "stream", "stream_options",
]);

/**
 * What a refusal of `n` may depend on: the model, greedy sampling (temperature 0, as vLLM counts it) and the features
 * the request asks for (`prediction`, `audio`, `tools`...: a name is enough, an upstream refuses `n` beside a feature,
 * not beside a value of it).
 */
function requestKind(body: Record<string, unknown>): string {
  const greedy = typeof body.temperature === "number" && body.temperature < 1e-5;
  const features = Object.keys(body).filter((name) => !UNRELATED_TO_N.has(name)).sort();
  return `${String(body.model)}\u0000${greedy ? "greedy" : "sampled"}\u0000${features.join(",")}`;
}

export interface DrawSummary {
  usage: Usage;
  calls: number;
  errors: ProxyError[];
  received: number;
  /** Candidates that can no longer come: n minus this is the most the draw can still deliver. */
  lost: number;
  /** The first completion's own fields: the response's when it has no candidate of its own to take them from. */
  meta: DrawMeta | null;
}

export interface DrawRequest {
  upstream: Upstream;
  /** The client's body as forwarded: verdict stripped, model resolved, stream off. */
  body: Record<string, unknown>;
  n: number;
  nSupport: NSupport;
  signal: AbortSignal;
  /** Draw the `n` call as a stream, yielding each candidate when it finishes (generator.stream_sampling). */
  stream?: boolean;
  /** Observes each call (spans, tokens) and supplies its headers (x-request-id, traceparent). */
  probe?: RequestProbe;
  /** Told each time candidates are lost for good, after `summary` counts them. */
  onLoss?: (summary: DrawSummary) => void;
  /**
   * Takes configured keys out of a streamed candidate's texts (src/redact.ts, keysInText); finds the logprobs of any
   * candidate whose tokens spell one.
   */
  scrubKeys?: ((text: string) => string) | null;
  /** A candidate whose text is longer is lost (limits.max_candidate_chars); no bound when unset. */
  maxCandidateChars?: number;
  /** Where candidates write reasoning inline (generator.inline_reasoning): taken out of what is compared. */
  inlineReasoning?: InlineReasoning;
}

/**
 * A message assembled from deltas, with configured keys taken out of every text in it: content, refusal, tool-call
 * arguments, and whatever else the deltas built (reasoning_content, an audio transcript). In place: the message was
 * just built for this candidate and nothing else holds it.
 */
function scrubMessage(message: Record<string, any>, scrub: (text: string) => string, depth = 0): void {
  if (depth > 8) return; // no message nests deeper; a value that does is not walked for ever
  for (const name in message) {
    const value = message[name];
    if (typeof value === "string") message[name] = scrub(value);
    else if (typeof value === "object" && value !== null) scrubMessage(value, scrub, depth + 1);
  }
}

const CHOICE_FIELDS = new Set(["index", "message", "logprobs", "finish_reason"]);

/**
 * Whether a choice's tokens, read in order, spell a configured key. The text they spell was scrubbed, and so was any
 * token holding a whole key, but a key split between tokens (" sk-gen", "-SECRET", ...) is in none of them alone.
 */
function tokensSpellKey(logprobs: ChatCompletion["choices"][number]["logprobs"], scrub: (text: string) => string): boolean {
  for (const tokens of [logprobs?.content, logprobs?.refusal]) {
    if (!Array.isArray(tokens)) continue;
    const spelt = tokens.map((token) => (typeof token?.token === "string" ? token.token : "")).join("");
    if (scrub(spelt) !== spelt) return true;
  }
  return false;
}

function toCandidate(
  choice: ChatCompletion["choices"][number],
  index: number,
  scrubKeys: ((text: string) => string) | null,
  drawnBy: DrawMeta | null,
  inlineReasoning: InlineReasoning,
): Candidate {
  const message = choice.message as unknown as Record<string, unknown>;
  const extra = otherFields(choice, CHOICE_FIELDS);
  // Logprobs that spell a key are dropped whole: a token list with a hole in it would still say where the key was.
  const logprobs = choice.logprobs && !(scrubKeys && tokensSpellKey(choice.logprobs, scrubKeys)) ? choice.logprobs : null;
  // Compared without reasoning written inline in its content; the client still gets the message as it came.
  const content = contentText(message.content);
  const answer = withoutInlineReasoning(content, inlineReasoning);
  const fullText = messageText(message);
  const text = answer === content ? fullText : messageText(withFields(message, { content: answer }));
  return {
    index,
    text,
    ...(text === fullText ? {} : { fullText }),
    message,
    finish_reason: choice.finish_reason ?? null,
    ...(logprobs ? { logprobs } : {}),
    ...(extra ? { extra } : {}),
    duplicates: [],
    ...(drawnBy ? { drawnBy } : {}),
  };
}

export function drawCandidates({ upstream, body, n, nSupport, signal, stream = false, probe = noopProbe, onLoss, scrubKeys, maxCandidateChars = Infinity, inlineReasoning = "leading_block" }: DrawRequest) {
  const channel = createChannel<Candidate>();
  const summary: DrawSummary = { usage: ZERO_USAGE, calls: 0, errors: [], received: 0, lost: 0, meta: null };
  let nextIndex = 0;

  /**
   * A failure that costs `count` candidates for good. Not when the client has left: its draws end because it did, and
   * the request is logged as cancelled, not as an answer with candidates lost.
   */
  const lose = (failure: ProxyError, count: number): void => {
    if (signal.aborted) return;
    summary.errors.push(failure);
    summary.lost += count;
    onLoss?.(summary);
  };

  const loseWithoutMessage = (count: number) => {
    if (count > 0) lose(new ProxyError(502, "generator upstream sent a choice without a message", BAD_ANSWER), count);
  };

  /** Hands a finished choice over as a candidate, as soon as it is known; one too long to hold or judge is lost. */
  const hand = (choice: ChatCompletion["choices"][number], watch: GenerationWatch, drawnBy: DrawMeta | null): void => {
    const candidate = toCandidate(choice, nextIndex, scrubKeys ?? null, drawnBy, inlineReasoning);
    const length = (candidate.fullText ?? candidate.text).length + reasoningLength(candidate.message);
    if (length > maxCandidateChars) {
      const message = `generator upstream sent a candidate of ${length} characters, more than limits.max_candidate_chars (${maxCandidateChars})`;
      return lose(new ProxyError(502, message, { type: "upstream_error", code: "candidate_too_long" }), 1);
    }
    summary.received += 1;
    watch.candidate(nextIndex++, choice.finish_reason ?? null);
    channel.push(candidate);
  };

  /** One generator call; its choices (at most `limit`) become candidates. Returns how many it yielded. */
  const draw = async (params: Record<string, unknown>, limit: number): Promise<number> => {
    summary.calls += 1;
    const watch = probe.generation(limit);
    let completion: ChatCompletion;
    try {
      completion = await upstream.schedule((requestSignal) => upstream.chat(params, requestSignal, watch.headers), signal);
    } catch (err) {
      // Named as the client would hear it (generator_error, generator_timeout), not as the SDK's class ("Error").
      watch.failed(upstreamFailure("generator", err));
      throw err;
    }
    // An error sent with a 200 ("CUDA out of memory") is that error, with its message and status: not an answer
    // without choices, whose shortfall would be drawn again.
    const sentError = Array.isArray(completion.choices) ? null : errorInsteadOfAnswer(completion as unknown as Record<string, unknown>);
    if (sentError !== null) {
      const failure = apiErrorFromBody(sentError, undefined, scrubKeys ?? null);
      watch.failed(upstreamFailure("generator", failure));
      throw failure;
    }
    summary.usage = addUsage(summary.usage, completion.usage);
    // Each call's own: with parallel draws the winner's answer carries its call's id and fields, not the first call's.
    const drawnBy = completionMeta(completion);
    summary.meta ??= drawnBy;
    const choices = (Array.isArray(completion.choices) ? completion.choices : []).slice(0, limit);
    // A choice without a message is lost alone: the good ones beside it are still candidates.
    let broken = 0;
    for (const choice of choices) {
      if (hasMessage(choice)) hand(choice, watch, drawnBy);
      else broken += 1;
    }
    loseWithoutMessage(broken);
    // A single draw answered without its choice is not drawn again (the `n` call's shortfall is, by single draws).
    if (limit === 1 && choices.length === 0) lose(new ProxyError(502, "generator upstream answered without a choice", BAD_ANSWER), 1);
    watch.done(completion.usage);
    return choices.length;
  };

  /** The `n` call read as a stream (generator.stream_sampling): each choice is a candidate the moment it finishes. */
  const drawStreamed = async (): Promise<number> => {
    summary.calls += 1;
    const watch = probe.generation(n);
    let got = 0;
    const soFar: StreamedDraw = { usage: null, meta: null };
    /** What the stream said of itself counts: its usage, and its id and time for the answer. */
    const count = (drawn: StreamedDraw) => {
      summary.usage = addUsage(summary.usage, drawn.usage);
      summary.meta ??= drawn.meta;
    };
    try {
      const result = await streamedDraw(upstream, withFields(body, { n }), signal, (choice) => {
        if (got >= n) return;
        got += 1;
        if (scrubKeys) scrubMessage(choice.message as Record<string, unknown>, scrubKeys);
        hand(choice as unknown as ChatCompletion["choices"][number], watch, soFar.meta);
      }, watch.headers, soFar, scrubKeys ?? null);
      count(result);
      // Lost and reported, as an unstreamed draw's are, not drawn again.
      const broken = Math.min(result.withoutMessage ?? 0, n - got);
      loseWithoutMessage(broken);
      got += broken;
      watch.done(result.usage as Usage | null);
    } catch (err) {
      const failure = upstreamFailure("generator", err);
      watch.failed(failure);
      if (got === 0) throw err;
      // The candidates that came are answered under the stream's own id, and its usage counts if it came before the break.
      count(soFar);
      if (got >= n) return n; // every candidate came; only the stream's tail (usage, [DONE]) was lost
      // Candidates already handed over stay; the failure is reported like any lost draw, and not drawn again.
      lose(failure, n - got);
      return n;
    }
    return got;
  };

  const run = async (): Promise<void> => {
    let remaining = n;
    let nCallAnswered = false;
    let learning = false;
    const kind = nSupport.value === "auto" ? requestKind(body) : "";
    const supported = nSupport.value === "auto" && nSupport.refused?.has(kind) ? false : nSupport.value;
    if (n > 1 && supported !== false) {
      try {
        remaining -= stream ? await drawStreamed() : await draw(withFields(body, { n }), n);
        nCallAnswered = true;
      } catch (err) {
        const failure = upstreamFailure("generator", err);
        if (failure.status !== 400 || supported !== "auto") return lose(failure, n);
        // A 400 may refuse `n`, or something else in this request (a bad temperature, a tool schema): that is only
        // known once a call without `n` is answered. Until then nothing is learnt, and a request that is bad anyway
        // gets its 400 after one more call, not after n of them.
        learning = true;
      }
    }
    // Parallel single draws: for an upstream without `n`, or one that returned fewer choices than asked.
    const { n: _dropped, ...single } = body;
    const seed = typeof body.seed === "number" ? body.seed : undefined;
    // A fixed client seed would make every draw identical; each single draw gets its own, derived from it and past the
    // one the `n` call used when that call was answered.
    const firstSeed = seed === undefined ? undefined : seed + (nCallAnswered ? 1 : 0);
    const drawOne = (i: number) => draw(firstSeed === undefined ? single : withFields(single, { seed: firstSeed + i }), 1);
    const lost = (err: unknown) => lose(upstreamFailure("generator", err), 1);
    let first = 0;
    if (learning) {
      first = 1;
      try {
        await drawOne(0);
        const refused = (nSupport.refused ??= new Set());
        if (refused.size < MAX_REMEMBERED_KINDS) refused.add(kind);
      } catch (err) {
        const failure = upstreamFailure("generator", err);
        // Refused without `n` too: the request itself is at fault, and no other draw is made.
        if (failure.status === 400) return lose(failure, remaining);
        lose(failure, 1);
      }
    }
    await Promise.all(Array.from({ length: remaining - first }, (_, i) => drawOne(first + i).catch(lost)));
  };

  const done = run().finally(() => channel.close());
  return { candidates: channel as AsyncIterable<Candidate>, summary, done };
}
