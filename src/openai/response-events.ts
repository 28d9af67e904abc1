// The Responses API's streaming events for one reranked answer, numbered in order: created and in_progress at once,
// then the winner's message item, its text as deltas, the done events and response.completed (with `verdict`).
import type { ProxyError } from "../errors";
import { splitText } from "./chunks";
import { outputMessage, responseShell, toResponseObject, type ChatResult, type ResponsesRequest } from "./responses";
import { encodeEvent } from "./sse";
import { withFields } from "../util/with-fields";

export interface ResponseEventStream {
  /** Sent before any work is done: the client learns the response id right away. */
  opening(): string[];
  /** The whole rest of the stream once the winner is known. */
  finish(result: ChatResult): string[];
  /** A failure after the stream began: OpenAI's `error` event. */
  failure(error: ProxyError): string;
}

export function responseEventStream(body: ResponsesRequest, id: string, createdAt: number): ResponseEventStream {
  let sequence = 0;
  const event = (type: string, fields: Record<string, unknown>) => encodeEvent({ type, ...fields, sequence_number: sequence++ }, type);
  const shell = responseShell(body, id, createdAt, body.model);

  return {
    opening: () => [event("response.created", { response: shell }), event("response.in_progress", { response: shell })],

    finish(result) {
      const itemId = `msg_${id.slice(5)}`;
      const { item } = outputMessage(result, itemId);
      const events = [event("response.output_item.added", { output_index: 0, item: withFields(item, { status: "in_progress", content: [] }) })];
      item.content.forEach((part, contentIndex) => {
        const at = { item_id: itemId, output_index: 0, content_index: contentIndex };
        if (part.type === "output_text") {
          events.push(event("response.content_part.added", withFields(at, { part: withFields(part, { text: "", annotations: [] }) })));
          for (const delta of splitText(part.text)) events.push(event("response.output_text.delta", withFields(at, { delta, logprobs: [] })));
          part.annotations.forEach((annotation, annotationIndex) =>
            events.push(event("response.output_text.annotation.added", withFields(at, { annotation_index: annotationIndex, annotation }))));
          events.push(event("response.output_text.done", withFields(at, { text: part.text, logprobs: [] })));
        } else {
          events.push(event("response.content_part.added", withFields(at, { part: withFields(part, { refusal: "" }) })));
          for (const delta of splitText(part.refusal)) events.push(event("response.refusal.delta", withFields(at, { delta })));
          events.push(event("response.refusal.done", withFields(at, { refusal: part.refusal })));
        }
        events.push(event("response.content_part.done", withFields(at, { part })));
      });
      events.push(event("response.output_item.done", { output_index: 0, item }));
      const response = toResponseObject(body, result, id, createdAt);
      events.push(event(response.status === "completed" ? "response.completed" : "response.incomplete", { response }));
      return events;
    },

    failure: (error) => event("error", { code: error.code, message: error.message, param: error.param }),
  };
}
