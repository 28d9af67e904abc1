// Responses whose whole body is already in memory, readable again without a round trip through a body stream.
//
// Why: the Node fetch (src/adapters/node-fetch.ts) has a JSON answer whole before it makes its Response, and the
// openai SDK then reads the body and `response.url` (for a debug line it builds whether or not debug logging is on).
// On Node, each such read turns @hono/node-server's light Response into a full one with a body stream, and
// `arrayBuffer()` reads the stream back: profiled, about a tenth of verdict's CPU when every upstream call went through
// fetch. So a buffered Response answers `url` and its body reads from the bytes it was made from. Unlike fetch,
// reading its body twice works; nothing here relies on the difference.

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

/** The body's bytes: those kept by bufferedResponse, else read from the body (which consumes it). */
export async function bodyBytes(response: Response): Promise<Uint8Array> {
  return bodies.get(response) ?? new Uint8Array(await response.arrayBuffer());
}
