// Every /v1 route verdict does not answer itself goes to the generator as it came (src/app.ts). What is refused here
// instead: requests that meant one of verdict's own routes, or asked for its options, and would get an answer nobody
// judged or checked against the documents.
import { badRequest, ProxyError } from "../errors";
import { refuseEncodedBody } from "../limits";

/** The routes verdict answers itself (POST), below /v1. */
const OWN_ROUTES = new Set(["/chat/completions", "/responses"]);

/** Routes whose answer is a model's text, which a guard would have checked: legacy completions. */
const TEXT_ROUTES = new Set(["/completions"]);

/**
 * A path as a lenient upstream may read it: %-escapes decoded, `;params` dropped, slashes merged, any case, no
 * trailing slash. `/v1//chat/completions` or `/v1/Chat/Completions` reaches a server behind nginx (which merges
 * slashes) or a case-blind one as its chat completions, past verdict's.
 */
function leniently(path: string): string {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // A malformed escape: read as it is.
  }
  return decoded.toLowerCase().replace(/;[^/]*/g, "").replace(/\/{2,}/g, "/").replace(/\/+$/, "");
}

const utf8 = new TextDecoder();

/** Bodies that may be JSON, as verdict's own routes read them: any but uploads (multipart) and media. */
const MAYBE_JSON = /^\s*(?:$|application\/(?:[\w.+-]*\+)?json\b|text\/|application\/x-www-form-urlencoded\b)/i;

/** The key `"verdict"`, any of its letters written as a \u escape (JSON allows that; a plain search would miss it). */
const VERDICT_KEY = /"(?:v|\\u0076)(?:e|\\u0065)(?:r|\\u0072)(?:d|\\u0064)(?:i|\\u0069)(?:c|\\u0063)(?:t|\\u0074)"/i;

/**
 * Whether a JSON body carries verdict's options: parsed only when its bytes may name them. One sent compressed, which
 * could carry them unseen, is refused (415).
 */
function hasVerdictField(headers: Headers, body: Uint8Array | undefined): boolean {
  if (body === undefined || !MAYBE_JSON.test(headers.get("content-type") ?? "")) return false;
  refuseEncodedBody(headers.get("content-encoding"));
  const text = utf8.decode(body);
  if (!VERDICT_KEY.test(text)) return false;
  try {
    const json: unknown = JSON.parse(text);
    return typeof json === "object" && json !== null && !Array.isArray(json) && Object.hasOwn(json, "verdict");
  } catch {
    return false; // not JSON after all: the generator says so
  }
}

/** Throws the answer for a request to another /v1 route that must not go upstream as it is. */
export function refuseMisroutedOptions(method: string, path: string, headers: Headers, body: Uint8Array | undefined): void {
  const meant = leniently(path);
  if (method === "POST" && meant !== path && OWN_ROUTES.has(meant)) {
    throw new ProxyError(404, `no route for ${method} /v1${path}: verdict answers /v1${meant}`, { code: "not_found" });
  }
  const refused = (param: string) =>
    badRequest(`${method} /v1${path} is passed through to the generator unchanged; verdict's options apply to /v1/chat/completions and /v1/responses`, param, "unknown_parameter");
  if (hasVerdictField(headers, body)) throw refused("verdict");
  // A guard asked for by header would return a model's text unchecked here. Elsewhere (embeddings, files) there is
  // nothing to check, and a client that sets the header on every call must still reach them.
  const guardAsked = headers.get("x-verdict-strategy")?.trim().toLowerCase() === "guard";
  if (guardAsked && method === "POST" && TEXT_ROUTES.has(meant)) throw refused("x-verdict-strategy");
}
