// Responses whose whole body is already in memory, readable again without a round trip through a body stream.
//
// Why: a pass-through answer is read once by the Node fetch (complete JSON), once by the retrying fetch (to check it
// is JSON) and once by the pass-through (to hand the client bytes). Each `arrayBuffer()` on a Response builds a web
// stream and reads it back; profiled, that was about a tenth of a pass-through request's CPU. The bytes are kept beside
// the Response, keyed weakly, so they go when it goes.

const bodies = new WeakMap<Response, Uint8Array>();

/** JSON media types: application/json and application/<anything>+json. */
export const JSON_MEDIA_TYPE = /^application\/([\w.+-]*\+)?json\b/i;

export function bufferedResponse(bytes: Uint8Array, init: ResponseInit): Response {
  const response = new Response(bytes as Uint8Array<ArrayBuffer>, init);
  bodies.set(response, bytes);
  return response;
}

/** The body's bytes: those kept by bufferedResponse, else read from the body (which consumes it). */
export async function bodyBytes(response: Response): Promise<Uint8Array> {
  return bodies.get(response) ?? new Uint8Array(await response.arrayBuffer());
}
