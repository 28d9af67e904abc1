// Responses whose whole body is already in memory, readable again without a round trip through a body stream.
//
// Why: a pass-through answer is read by the Node fetch (complete JSON), by the retrying fetch (to check it is JSON)
// and by the pass-through (to hand the client bytes); an SDK call's answer is read by the openai SDK, which also reads
// `response.url` for a debug line it builds whether or not debug logging is on. On Node, each of those reads on a
// Response turns @hono/node-server's light Response into a full one with a body stream, and `arrayBuffer()` reads the
// stream back: profiled, about a tenth of verdict's CPU. So a buffered Response answers `url` and its body reads from
// the bytes it was made from. Unlike fetch, reading its body twice works; nothing here relies on the difference.

const bodies = new WeakMap<Response, Uint8Array>();
const utf8 = new TextDecoder();

/** JSON media types: application/json and application/<anything>+json. */
export const JSON_MEDIA_TYPE = /^application\/([\w.+-]*\+)?json\b/i;

export function bufferedResponse(bytes: Uint8Array, init: ResponseInit, url = ""): Response {
  const response = new Response(bytes as Uint8Array<ArrayBuffer>, init);
  bodies.set(response, bytes);
  Object.defineProperties(response, {
    url: { value: url },
    text: { value: async () => utf8.decode(bytes) },
    json: { value: async () => JSON.parse(utf8.decode(bytes)) as unknown },
    // A copy of its own: a Node Buffer may be a view into a larger shared pool.
    arrayBuffer: { value: async () => new Uint8Array(bytes).buffer },
  });
  return response;
}

/** True for a Response made by bufferedResponse: its body can be read again, as often as needed. */
export function isBuffered(response: Response): boolean {
  return bodies.has(response);
}

/** The body's bytes: those kept by bufferedResponse, else read from the body (which consumes it). */
export async function bodyBytes(response: Response): Promise<Uint8Array> {
  return bodies.get(response) ?? new Uint8Array(await response.arrayBuffer());
}
