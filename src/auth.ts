// Proxy keys for /v1/*, compared in constant time, and the bring-your-own-key mode that sends the client's key upstream.
import type { MiddlewareHandler } from "hono";
import { ProxyError } from "./errors";

export interface AuthSettings {
  keys: string[];
  forward_client_key: boolean;
}

/** What reading a request's headers needs: a Headers object, or a view over Node's (src/adapters/node-chat-lane.ts). */
export type HeaderSource = Pick<Headers, "get">;

/**
 * Where the proxy key is read from. Normally `Authorization: Bearer`; in bring-your-own-key mode that header carries
 * the client's upstream key, so a proxy key (when keys are configured as well) travels in `x-verdict-api-key`.
 */
export const PROXY_KEY_HEADER = "x-verdict-api-key";

function bearerToken(value: string | null): string | null {
  if (value === null) return null;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(value);
  return match ? match[1]! : null;
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/**
 * Equal digests, looking at every byte whatever the differences: the time taken says nothing about how much of a
 * key was right. Hashing first makes both sides the same length, so the key's length does not leak either. (Node's
 * crypto.timingSafeEqual is not on Workers; this runs on both.)
 */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** The key the client presents to verdict itself, or null. */
export function presentedProxyKey(headers: HeaderSource, settings: AuthSettings): string | null {
  if (!settings.forward_client_key) return bearerToken(headers.get("authorization"));
  const own = headers.get(PROXY_KEY_HEADER);
  return own === null ? null : (bearerToken(own) ?? own.trim());
}

/** In bring-your-own-key mode, the key to send upstream in place of generator.api_key. */
export function clientUpstreamKey(headers: HeaderSource, settings: AuthSettings): string | undefined {
  return settings.forward_client_key ? (bearerToken(headers.get("authorization")) ?? undefined) : undefined;
}

function unauthorized(message: string): ProxyError {
  return new ProxyError(401, message, { code: "invalid_api_key", headers: { "www-authenticate": 'Bearer realm="verdict"' } });
}

/**
 * Checks a request's proxy key (and, in bring-your-own-key mode, that it brings one); throws the 401 to answer with.
 * With no keys configured it lets everything through (and says so nowhere: that is the default).
 */
export function proxyKeyCheck(settings: AuthSettings): (headers: HeaderSource) => Promise<void> {
  const expected = settings.keys.length > 0 ? Promise.all(settings.keys.map(sha256)) : null;
  return async function checkProxyKey(headers) {
    if (expected) {
      const presented = presentedProxyKey(headers, settings);
      const where = settings.forward_client_key ? `${PROXY_KEY_HEADER}: <key>` : "Authorization: Bearer <key>";
      // Never echo what was sent: a mistyped key is still most of a key.
      if (presented === null) throw unauthorized(`this verdict proxy needs an API key: send ${where}`);
      const digest = await sha256(presented);
      let matched = false;
      for (const key of await expected) matched = digestsEqual(digest, key) || matched; // no early exit
      if (!matched) throw unauthorized("incorrect API key for this verdict proxy");
    }
    if (settings.forward_client_key && clientUpstreamKey(headers, settings) === undefined) {
      throw unauthorized("this verdict proxy forwards your own upstream key: send Authorization: Bearer <your key>");
    }
  };
}

/** Middleware for /v1/*. */
export function proxyAuth(settings: AuthSettings): MiddlewareHandler {
  const check = proxyKeyCheck(settings);
  return async function proxyAuthMiddleware(c, next) {
    await check(c.req.raw.headers);
    await next();
  };
}
