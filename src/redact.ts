// Keeps keys out of everything verdict emits: upstream error bodies are scrubbed of what the request carried
// (credentials, bearer tokens, configured secrets) before anyone reads them, and log events get the same treatment.
import type { Logger } from "./app";
import { called } from "./util/called";
import { dropEvent } from "./observe/config";
import { FAILED_BODY_LIMIT, headersWithCookies, isWhole, replyText, type Exchange, type ExchangeReply, type ExchangeRequest } from "./exchange";
import type { FetchLike } from "./upstream";
import { scrubbedChunks, SecretBytes } from "./util/byte-scrub";
import { bodyChunks, chunkStream, keepChunkSource } from "./util/body-chunks";

const REDACTED = "[redacted]";

/** Request headers whose values are credentials: if an upstream echoes one back, it must not travel further. */
export const SENSITIVE_HEADER = /^(authorization|proxy-authorization|cookie|x-api-key|api-key|x-verdict-api-key|.*-(key|token|secret))$/i;

/** Bearer tokens and OpenAI-style keys, configured or not. */
/**
 * A bearer or basic credential, and keys shaped like OpenAI's. Not an auth parameter after the scheme, as a
 * WWW-Authenticate challenge has (`Bearer realm="OpenAI API", error="invalid_token"`): that is no credential, and
 * a client reads the challenge.
 */
const TOKEN_PATTERNS = [/\b(Bearer|Basic)\s+(?!(?:realm|scope|error|error_description|error_uri|charset)=)[A-Za-z0-9._~+/=-]+/gi, /\b(sk|rk|pk)-[A-Za-z0-9_-]{8,}/g];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export interface Redactor {
  (text: string): string;
  /**
   * False when no string inside `json` (the JSON text of a value) holds anything this redactor replaces: a quick
   * test, so the common log event is serialised once, with no check per string.
   */
  mightFind(json: string): boolean;
}

/** A text as it stands inside a JSON string. */
const escaped = (s: string) => JSON.stringify(s).slice(1, -1);

/**
 * The spellings a secret is hunted in; secrets shorter than 6 characters are too common to hunt. A secret is also
 * hunted as JSON escapes it (a quote or backslash in it), once for error bodies that echo it in JSON and twice for a
 * gateway's error that quotes such a body in a JSON string of its own.
 */
function huntedForms(secrets: Iterable<string | undefined>): string[] {
  const hunted = [...secrets].filter((s): s is string => typeof s === "string" && s.length >= 6);
  // JSON may also write a slash as "\/" (PHP's encoder does by default), and base64 keys hold slashes.
  const spellings = hunted.flatMap((s) => (s.includes("/") ? [s, s.replaceAll("/", "\\/")] : [s]));
  return [...new Set(spellings.flatMap((s) => [s, escaped(s), escaped(escaped(s))]))];
}

/**
 * An error body as JSON writes it without needless escapes: one that spells a key's letters as "\u0041" or its
 * slashes as "\/" hides it from the hunt, and verdict decodes the message and passes it on. Parsed and written again
 * only when it is JSON and has an escape; any other text as it came.
 */
function plainlyEscaped(text: string): string {
  if (!text.includes("\\")) return text;
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}

/** One pattern for all the forms, the longest first (so a form is never cut short by one it contains); null for none. */
function formsPattern(forms: string[]): RegExp | null {
  if (forms.length === 0) return null;
  return new RegExp([...forms].sort((a, b) => b.length - a.length).map(escapeRegExp).join("|"), "g");
}

/**
 * Secrets of 3 to 5 characters ("local", "EMPTY": self-hosted servers' keys) as whole words: an error body that echoes
 * one ("Incorrect API key provided: local") still hands it to nobody. Answers are not searched for them, where such a
 * word is just a word (README). One or two characters ("x", a placeholder for a server without keys) are no secret,
 * and hunted they would take every "1" out of headers such as x-ratelimit-remaining.
 */
function shortWordsPattern(secrets: Iterable<string | undefined>): RegExp | null {
  const short = [...secrets].filter((s): s is string => typeof s === "string" && s.length >= 3 && s.length < 6);
  if (short.length === 0) return null;
  const forms = [...new Set(short.flatMap((s) => [s, escaped(s)]))].map(escapeRegExp);
  return new RegExp(`(?<![\\w-])(?:${forms.join("|")})(?![\\w-])`, "g");
}

/** Replaces each secret (and bearer-looking token) in a text. */
export function createRedactor(secrets: Iterable<string | undefined>): Redactor {
  const given = [...secrets];
  const forms = huntedForms(given);
  const secretPattern = formsPattern(forms);
  const shortPattern = shortWordsPattern(given);
  // What a string holds is in the JSON text of a value holding it, escaped once more: every form hunted above, as it
  // is and escaped. The token patterns start with characters JSON never escapes.
  const inJson = [...new Set([...forms, ...forms.map(escaped)])].map(escapeRegExp);
  const suspect = new RegExp([...inJson, ...(shortPattern ? [shortPattern.source] : []), "bearer", "basic", "[srp]k-"].join("|"), "i");
  // Shorter than any secret hunted and any token pattern: nothing to find.
  const shortest = shortPattern === null ? 6 : 3;
  const redact = (text: string) => {
    if (text.length < shortest) return text;
    let out = secretPattern ? text.replace(secretPattern, REDACTED) : text;
    if (shortPattern) out = out.replace(shortPattern, REDACTED);
    for (const pattern of TOKEN_PATTERNS) out = out.replace(pattern, (match, scheme?: string) => (scheme && /^(bearer|basic)$/i.test(scheme) ? `${scheme} ${REDACTED}` : REDACTED));
    return out;
  };
  return Object.assign(redact, { mightFind: (json: string) => suspect.test(json) });
}

/** The values of a request's credential headers, and the bare token of `Bearer <token>`. */
function credentialsSent(headers: Iterable<[string, string]>): string[] {
  const values: string[] = [];
  for (const [name, value] of headers) {
    if (!SENSITIVE_HEADER.test(name)) continue;
    values.push(value);
    const token = /^\s*\w+\s+(.+)$/.exec(value)?.[1];
    if (token) values.push(token.trim());
  }
  return values;
}

/**
 * Error bodies beyond this (64 KiB) are cut: nobody needs megabytes of an upstream's error page. 4 KiB under what an
 * exchange reads of a failed answer, so a secret across the exchange's cut is in the part dropped (keys are far shorter).
 */
const MAX_ERROR_BODY = FAILED_BODY_LIMIT - 4 * 1024;

/**
 * A reply's headers with every value that holds a configured secret or a bearer-looking token scrubbed, whatever the
 * status: an upstream may echo the key it was sent in a debug header, and a pass-through hands its headers to the
 * client. The same object when nothing needed it, as is usual (one pattern test per header).
 */
function scrubbedHeaders(headers: Record<string, string>, redact: Redactor): Record<string, string> {
  let scrubbed: Record<string, string> | undefined;
  for (const name in headers) {
    const value = headers[name]!;
    if (!redact.mightFind(value)) continue;
    const clean = redact(value);
    if (clean !== value) (scrubbed ??= { ...headers })[name] = clean;
  }
  return scrubbed ?? headers;
}

const utf8 = new TextEncoder();

/**
 * Finds the configured keys in an answer that holds one (a model or judge that repeats its key would hand it to the
 * client as content or rationale), whole or as a stream goes by. Only the keys themselves: an answer's prose may well
 * say "basic" or "bearer". Bytes are searched, so an answer is not decoded here; one without a key comes back as it was.
 * A key is replaced by "[redacted]", or (`sameLength`, for a streamed answer whose length the upstream stated, which is
 * then kept: a download's size and progress rely on it) by as many bytes, those words cut or filled out with `*`.
 */
function keysInAnswers(configured: (string | undefined)[]): { anyLength: SecretBytes; sameLength: SecretBytes } | null {
  const needles = huntedForms(configured).map((form) => utf8.encode(form));
  if (needles.length === 0) return null;
  const replacement = utf8.encode(REDACTED);
  return { anyLength: new SecretBytes(needles, replacement), sameLength: new SecretBytes(needles, replacement, true) };
}

/**
 * The configured keys taken out of a text (only the keys, as in answers): for candidates verdict assembles from a
 * streamed draw's deltas, where a key spelled out token by token lies across events no byte scrub sees whole. Null
 * when no key is configured.
 */
export function keysInText(configured: (string | undefined)[]): ((text: string) => string) | null {
  const pattern = formsPattern(huntedForms(configured));
  return pattern && ((text) => text.replace(pattern, REDACTED));
}

/**
 * Wraps the upstream fetch: a failed response's body is read, scrubbed of the credentials this very request sent and
 * of every configured secret, and handed on as a new response. Successful bodies stream through with configured keys
 * taken out as they go by; headers are scrubbed on every response.
 */
export function redactingFetch(fetchImpl: FetchLike, secrets: Iterable<string | undefined>): FetchLike {
  const configured = [...secrets];
  const inHeaders = createRedactor(configured);
  const inAnswer = keysInAnswers(configured);
  return async (input, init) => {
    const response = await fetchImpl(input, init);
    const ok = response.ok || response.status === 304;
    if (ok) {
      const raw = Object.fromEntries(response.headers);
      const headers = scrubbedHeaders(raw, inHeaders);
      const cookies = setCookies(response.headers);
      const cleanCookies = scrubbedCookies(cookies, inHeaders);
      const { status, statusText } = response;
      const same = headers === raw && cleanCookies === cookies;
      if (inAnswer === null || response.body === null) return same ? response : new Response(response.body, { status, statusText, headers: headersWithCookies(headers, cleanCookies) });
      // Its length changes with a key taken out. Its chunks are kept beside it, as the Node fetch's are (body-chunks.ts).
      const { "content-length": _length, ...rest } = headers;
      const chunks = scrubbedChunks(bodyChunks(response)!, inAnswer.anyLength.scrubber());
      return keepChunkSource(new Response(chunkStream(chunks), { status, statusText, headers: headersWithCookies(rest, cleanCookies) }), chunks);
    }
    const redact = createRedactor([...configured, ...credentialsSent(new Headers(init?.headers))]);
    const text = await response.text().catch(() => "");
    const { "content-length": _length, "content-encoding": _encoding, ...rest } = Object.fromEntries(response.headers);
    const headers = headersWithCookies(scrubbedHeaders(rest, redact), scrubbedCookies(setCookies(response.headers), redact));
    return new Response(redact(plainlyEscaped(text)).slice(0, MAX_ERROR_BODY), { status: response.status, statusText: response.statusText, headers });
  };
}

/**
 * The same for exchanges (src/exchange.ts): a failed reply's body comes back whole, scrubbed; a successful one, whole
 * or streamed, without configured keys. Written with then, not as an async function: every upstream call passes through
 * here and waits most of a request (src/util/called.ts says why that matters).
 */
export function redactingExchange(exchange: Exchange, secrets: Iterable<string | undefined>): Exchange {
  const configured = [...secrets];
  const inHeaders = createRedactor(configured);
  const inAnswer = keysInAnswers(configured);
  return (request) =>
    called(exchange, request).then((reply) => {
      if ((reply.status >= 200 && reply.status < 300) || reply.status === 304 || reply.body === null) {
        const headers = scrubbedHeaders(reply.headers, inHeaders);
        const cookies = scrubbedCookies(reply.cookies, inHeaders);
        // A streamed body with a stated length keeps it: its keys are replaced by as many bytes.
        const sized = reply.body !== null && !isWhole(reply.body) && headers["content-length"] !== undefined;
        const body =
          inAnswer === null || reply.body === null
            ? reply.body
            : isWhole(reply.body)
              ? inAnswer.anyLength.whole(reply.body)
              : scrubbedChunks(reply.body, (sized ? inAnswer.sameLength : inAnswer.anyLength).scrubber());
        if (body === reply.body && headers === reply.headers && cookies === reply.cookies) return reply;
        // Unless it was kept as said above, its length changed with the key taken out.
        const { "content-length": _length, ...unsized } = headers;
        return { ...reply, headers: body === reply.body || sized ? headers : unsized, ...(cookies ? { cookies } : {}), body };
      }
      return scrubbedReply(reply, request, configured);
    });
}

async function scrubbedReply(reply: ExchangeReply, request: ExchangeRequest, configured: (string | undefined)[]): Promise<ExchangeReply> {
  const redact = createRedactor([...configured, ...credentialsSent(Object.entries(request.headers))]);
  const text = await replyText(reply, FAILED_BODY_LIMIT).catch(() => "");
  const { "content-length": _length, "content-encoding": _encoding, ...headers } = reply.headers;
  // Cut after redacting: a secret across the cut would otherwise leave its first characters behind. The exchange
  // reads more than is kept, so a secret across its own cut falls in the part dropped here.
  const cookies = scrubbedCookies(reply.cookies, redact);
  return { ...reply, headers: scrubbedHeaders(headers, redact), ...(cookies ? { cookies } : {}), body: utf8.encode(redact(plainlyEscaped(text)).slice(0, MAX_ERROR_BODY)) };
}

/** A response's Set-Cookie values, each apart (Headers joins them, and Object.fromEntries keeps only the last). */
function setCookies(headers: Headers): string[] | undefined {
  const cookies = (headers as Headers & { getSetCookie?: () => string[] }).getSetCookie?.() ?? [];
  return cookies.length > 0 ? cookies : undefined;
}

/**
 * Each Set-Cookie apart (when an answer sent more than one), scrubbed as the headers are: they go to the client one by
 * one, not from the joined header. The same array back when none held anything to take out.
 */
function scrubbedCookies(cookies: string[] | undefined, redact: Redactor): string[] | undefined {
  if (cookies === undefined) return undefined;
  const scrubbed = cookies.map(redact);
  return scrubbed.every((cookie, i) => cookie === cookies[i]) ? cookies : scrubbed;
}

/**
 * A logger that scrubs each event before the real one sees it. Every string in the event is redacted as it is
 * serialised, so the JSON is always valid and a secret is found as it is, not as JSON escapes it (a key holding a quote
 * or a backslash). Only an event that held a secret is parsed back from that text; the usual one goes on as it was.
 * An event whose plain JSON text holds nothing suspect (Redactor.mightFind), as most do, is serialised only once.
 */
export function redactingLogger(logger: Logger, redact: Redactor): Logger {
  type Write = (event: Record<string, unknown>, serialised?: string) => void;
  const scrubbing = (write: Write): Write => (event) => {
    let plain: string | undefined;
    try {
      plain = JSON.stringify(event);
    } catch {
      plain = undefined; // unserialisable: the careful path below says so
    }
    if (typeof plain === "string" && plain[0] === "{" && !redact.mightFind(plain)) return write(event, plain);
    let changed = false;
    const scrub = (_key: string, value: unknown) => {
      if (typeof value !== "string") return value;
      const clean = redact(value);
      if (clean !== value) changed = true;
      return clean;
    };
    let text: string | undefined;
    try {
      text = JSON.stringify(event, scrub);
    } catch {
      text = undefined;
    }
    if (typeof text !== "string" || text[0] !== "{") return write({ event: "log_event_unserialisable" });
    // The text goes along: a JSON logger writes it as it is instead of serialising the event again.
    write(changed ? (JSON.parse(text) as Record<string, unknown>) : event, text);
  };
  // A level the logger drops stays dropped, unscanned.
  const scrubbed = (write: Logger["info"]) => (write === dropEvent ? dropEvent : scrubbing(write.bind(logger)));
  const debug = logger.debug;
  return {
    ...(debug ? { debug: scrubbed(debug) } : {}),
    info: scrubbed(logger.info),
    warn: scrubbed(logger.warn),
    error: scrubbed(logger.error),
  };
}
