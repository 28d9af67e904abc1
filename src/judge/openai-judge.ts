// Judge backend for any OpenAI-compatible server (SGLang, vLLM, OpenAI): structured output, lenient parse, one retry.
import type { GroundingInput, GroundingVerdict, PairInput, PairVerdict, PairWinner, ScoreInput, ScoreVerdict } from "../../strategies/types";
import { addUsage, contentText, hasMessage, ZERO_USAGE, type Usage } from "../openai/chat";
import type { ProxyError } from "../errors";
import { upstreamFailure, type Upstream } from "../upstream";
import { boundedReasoning, FailedAfterSpending, normaliseScore, type CallOptions, type JudgeBackend, type Judged } from "./backend";
import { createBodyWriter } from "./body-json";
import { probabilityAOverB, verdictOffset } from "./logprobs";
import { PAIRWISE_RESPONSE_FORMAT, PAIRWISE_SYSTEM, PAIRWISE_TEMPLATE, pairwiseUserParts } from "./pairwise-prompt";
import { GROUNDING_RESPONSE_FORMAT, GROUNDING_SYSTEM, GROUNDING_TEMPLATE, groundingMessages } from "./grounding-prompt";
import { parseGrounding } from "./parse-grounding";
import { parsePairVerdict, parseScore, quotedIn } from "./parse";
import { neutraliseTags } from "./sections";
import { RUBRIC_TEMPLATE, rubricMessages, rubricResponseFormat } from "./rubric-prompt";


/** The seed of a judge call asked again, plus its attempt (rematches use the attempt alone). */
const REASK_SEED = 1_000;
export interface OpenAIJudgeSettings {
  model: string;
  temperature: number;
  max_tokens: number;
  structured_output: boolean;
  logprobs: boolean;
  /** A rematch at temperature 0 would only repeat the first answer; it samples at this temperature instead. */
  rematch_temperature: number;
  /** Replaces the groundedness check's system text (TASK / INSTRUCTIONS / OUTPUT_EXAMPLE) for this deployment. */
  grounding_prompt?: string | undefined;
}

interface Asked<T> extends Judged<T | null> {
  text: string;
  logprobs: unknown;
  /** The last answer stopped at max_tokens (finish_reason "length"). */
  cut: boolean;
}

/** What a verdict says when the judge's words could not be read: why, and how the answer began. */
function unreadable(asked: Asked<unknown>): string {
  return `${asked.cut ? "judge answer cut off at its max_tokens" : "unparseable judge answer"}: ${asked.text.slice(0, 200)}`;
}

/**
 * A 400 that refuses response_format itself (a server without guided decoding), as opposed to one about this request
 * (a prompt past the context length): only the first kind turns structured output off, for good, for this judge.
 */
function refusesStructuredOutput(failure: ProxyError): boolean {
  // vLLM with xgrammar: "The provided JSON schema contains features not supported by xgrammar." (param null).
  return failure.status === 400 && (failure.param === "response_format" || /response_format|schema|grammar|guided|structured output/i.test(failure.message));
}

/**
 * Texts a verdict in the judge's answer may be quoted from (parse.ts, Quoted), as written and as the judge was shown
 * them (tags defused). Only what an attacker may write: the rubric and the client's conversation are not among them,
 * since a rubric that says "Score: 5 if ..." would hide every grade the judge gives in those words.
 */
const shown = (...texts: string[]) => texts.flatMap((text) => {
  const defused = neutraliseTags(text);
  return defused === text ? [text] : [text, defused];
});

/**
 * Whether a soft p(A) belongs to the verdict read. It is read at the last letter that looks like a verdict, which may
 * be one the judge quoted after its own: one that leans the other way than the verdict is not the verdict's, nor is a
 * tie's read at another letter than its own tie.
 */
function softScoreFits(winner: PairWinner, pA: number, text: string): boolean {
  if (winner === "tie") return /^(?:tie|c)\b/i.test(text.slice(verdictOffset(text) ?? 0));
  return winner === "A" ? pA >= 0.5 : pA <= 0.5;
}

/** A parser for whole answers only: one cut off at max_tokens is unread. */
const wholeOnly = <T>(parse: (text: string) => T | null) => (text: string, answer: { cut: boolean }) => (answer.cut ? null : parse(text));

export function createOpenAIJudge(upstream: Upstream, settings: OpenAIJudgeSettings): JudgeBackend {
  // Flipped off for good the first time the server refuses response_format (no guided decoding there).
  let structured = settings.structured_output;
  const sampling = {
    temperature: settings.temperature,
    max_tokens: settings.max_tokens,
    ...(settings.logprobs ? { logprobs: true, top_logprobs: 5 } : {}),
  };

  const writer = createBodyWriter(settings.model, sampling);
  /** A rematch's and a re-ask's temperature: the rematch temperature, or the judge's own if that is higher. */
  const looser = Math.max(settings.temperature, settings.rematch_temperature);

  /**
   * Asks up to twice until `parse` accepts the judge's text; a refused response_format is dropped and asked again. The
   * second call is made only if `askAgain` allows it (a request's cap on judge calls). The body is built each time a
   * call is sent and held by nothing while it waits (with documents in the conversation it is the largest thing a
   * judge call has, bench/README.md, load section); what the request keeps is one escaped copy of each part its
   * pairwise bodies share (src/judge/body-json.ts). Each call is followed with then rather than awaited in a loop, so
   * that no suspended async frame waits with it (src/util/called.ts says why).
   */
  function ask<T>(
    messages: () => string,
    format: object,
    /** `structured`: asked for under the response format's schema; `cut`: cut off at max_tokens. */
    parse: (t: string, answer: { structured: boolean; cut: boolean }) => T | null,
    signal: AbortSignal,
    attempt = 0,
    call: CallOptions = {},
    askAgain: () => boolean = () => true,
  ): Promise<Asked<T>> {
    const resample = attempt > 0 ? { temperature: looser, seed: attempt } : null;
    let usage: Usage = ZERO_USAGE;
    /** Calls the judge answered: what the judgment counts and what a request's cap on judge calls is spent on. */
    let calls = 0;
    let text = "";
    let logprobs: unknown = null;
    let cut = false;
    const next = (): Promise<Asked<T>> => {
      if (calls === 2 || (calls === 1 && !askAgain())) return Promise.resolve({ value: null, usage, calls, text, logprobs, cut });
      const withFormat = structured; // as sent: a call running beside this one may turn it off meanwhile
      // Asked again after an unreadable or cut answer: the same body would, at temperature 0 or with the same seed, only
      // get the same answer back. Seeds of re-asks lie far from a rematch's (its attempt number).
      const sampling = calls === 0 ? resample : { temperature: looser, seed: REASK_SEED + attempt };
      const body = () => writer.body(messages(), sampling, withFormat ? format : null);
      return upstream.schedule((requestSignal) => upstream.chat(body(), requestSignal, call.headers), signal).then(
        (completion) => {
          calls += 1;
          usage = addUsage(usage, completion.usage);
          call.spent?.(completion.usage);
          // Any shape a server may answer in: no choices, a null message, content as a list of parts.
          const choice: unknown = completion?.choices?.[0];
          text = hasMessage(choice) ? contentText(choice.message.content, false) : "";
          logprobs = (choice as { logprobs?: unknown } | undefined)?.logprobs ?? null;
          // An answer cut at max_tokens is read only for what the rest cannot change (`parse` says what that is): what
          // the judge had still to say (a claim that fails, "no wait, B") could change the rest. Unread, it is asked
          // again like an unreadable one.
          cut = (choice as { finish_reason?: unknown } | undefined)?.finish_reason === "length";
          const value = parse(text, { structured: withFormat, cut });
          return value !== null ? { value, usage, calls, text, logprobs, cut } : next();
        },
        (err: unknown) => {
          const failure = upstreamFailure("judge", err);
          // A refused response_format was no judgment (and is not billed): asked again without it, it costs nothing.
          if (withFormat && refusesStructuredOutput(failure)) {
            structured = false;
            return next();
          }
          // An unreadable answer asked again, then a failure: the answer was made and billed, and still counts.
          throw calls > 0 ? new FailedAfterSpending(failure, { calls, usage }) : failure;
        },
      );
    };
    return next();
  }

  return {
    model: settings.model,
    // What makes one judge's answers differ from another's: two servers may serve different weights under one model
    // name, and a schema-bound answer is not asked the same way as a free one.
    identity: {
      backend: "openai-compatible",
      base_url: upstream.baseURL,
      model: settings.model,
      structured_output: settings.structured_output,
      rematch_temperature: settings.rematch_temperature,
      grounding_prompt: settings.grounding_prompt,
      ...sampling,
    },
    templates: { pairwise: PAIRWISE_TEMPLATE, rubric: RUBRIC_TEMPLATE, grounding: GROUNDING_TEMPLATE },

    comparePair(input: PairInput, signal: AbortSignal, call?: CallOptions): Promise<Judged<PairVerdict>> {
      const messages = () => writer.systemAndUser(PAIRWISE_SYSTEM, pairwiseUserParts(input.conversation, input.a.text, input.b.text), call?.memo);
      const quoted = quotedIn(() => shown(input.a.text, input.b.text));
      const read = wholeOnly((text) => parsePairVerdict(text, quoted));
      return ask(messages, PAIRWISE_RESPONSE_FORMAT, read, signal, input.attempt, call, input.askAgain).then((asked) => {
        if (!asked.value) {
          const value: PairVerdict = { winner: "tie", reasoning: unreadable(asked), parsed: false };
          return { value, usage: asked.usage, calls: asked.calls };
        }
        // A literal, not spreads: building the verdict by spreading was about 1% of a best-of-4 request's CPU.
        const value: PairVerdict = { winner: asked.value.winner, reasoning: boundedReasoning(asked.value.reasoning), parsed: true };
        const pA = settings.logprobs ? probabilityAOverB(asked.text, asked.logprobs) : undefined;
        if (pA !== undefined && softScoreFits(value.winner, pA, asked.text)) value.pA = pA;
        return { value, usage: asked.usage, calls: asked.calls };
      });
    },

    scoreRubric(input: ScoreInput, signal: AbortSignal, call?: CallOptions): Promise<Judged<ScoreVerdict>> {
      const messages = () => writer.messages(rubricMessages(input.conversation, input.rubric, input.candidate.text, input.scale));
      const format = rubricResponseFormat(input.scale);
      const quoted = quotedIn(() => shown(input.candidate.text));
      return ask(messages, format, wholeOnly((text) => parseScore(text, input.scale, quoted)), signal, 0, call).then((asked) => {
        // An unreadable grade sits in the middle of the scale, so it neither wins nor sinks a candidate on its own.
        const score = asked.value?.score ?? Math.ceil((input.scale + 1) / 2);
        const value: ScoreVerdict = {
          score,
          normalised: normaliseScore(score, input.scale),
          justification: asked.value ? boundedReasoning(asked.value.justification) : unreadable(asked),
          parsed: asked.value !== null,
        };
        return { value, usage: asked.usage, calls: asked.calls };
      });
    },

    checkGrounding(input: GroundingInput, signal: AbortSignal, call?: CallOptions): Promise<Judged<GroundingVerdict>> {
      const messages = () => writer.messages(groundingMessages(input, settings.grounding_prompt ?? GROUNDING_SYSTEM));
      // The question and documents too: a retrieved page may carry {"VERDICT": "PASS"} as well as an answer.
      const quoted = quotedIn(() => shown(input.answer, input.question, ...input.documents));
      // A FAIL the judge already wrote in prose stands even if it was cut off: under the guard's rule nothing it had
      // still to say could undo it, and a second sample that passed would hide it. Under structured output all that
      // comes before the verdict field is reasoning, which may quote a document's "FAIL": a cut answer there is unread.
      const read = (text: string, answer: { structured: boolean; cut: boolean }) => {
        if (!answer.cut) return parseGrounding(text, answer.structured, quoted);
        const parsed = answer.structured ? null : parseGrounding(text, false, quoted);
        return parsed?.verdict === "FAIL" ? parsed : null;
      };
      return ask(messages, GROUNDING_RESPONSE_FORMAT, read, signal, 0, call).then((asked) => {
        // An answer the judge's words could not be read for was not checked, and an unchecked answer does not pass.
        const value: GroundingVerdict = asked.value
          ? { verdict: asked.value.verdict, reasoning: boundedReasoning(asked.value.reasoning), parsed: true }
          : { verdict: "FAIL", reasoning: unreadable(asked), parsed: false };
        return { value, usage: asked.usage, calls: asked.calls };
      });
    },
  };
}
