// Request headers in any form fetch takes, as one plain object with lower-case names: what an exchange sends
// (src/exchange.ts).

/** `out`, when given, gets the headers added over what it already has (one object instead of a spread of two). */
export function plainHeaders(headers: HeadersInit | undefined, out: Record<string, string> = {}): Record<string, string> {
  if (!headers) return out;
  if (headers instanceof Headers || Array.isArray(headers)) {
    for (const [name, value] of headers instanceof Headers ? headers : headers) out[name.toLowerCase()] = value;
    return out;
  }
  for (const name of Object.keys(headers)) {
    const value = (headers as Record<string, string | undefined>)[name];
    if (value !== undefined) out[name.toLowerCase()] = String(value);
  }
  return out;
}
