// The content codings verdict's upstream calls undo: the Node exchange decodes these (src/adapters/node-exchange.ts),
// and so does Node's fetch. workerd's fetch decodes gzip and br but leaves deflate and x-gzip as they were sent (the
// workers tests check all four), so the fetch exchange undoes those two itself there (undoLeftCoding). A body in any
// other coding (zstd, say, from an upstream that ignored the absent accept-encoding) comes as it was sent, and its
// Content-Encoding must go with it.

const DECODED = new Set(["gzip", "x-gzip", "deflate", "br"]);

/** The codings a Content-Encoding header lists, in the order they were applied, `identity` left out. */
export function codingsOf(header: string): string[] {
  return header.toLowerCase().split(",").map((coding) => coding.trim()).filter((coding) => coding !== "" && coding !== "identity");
}

/** Whether a body sent with this Content-Encoding reaches verdict decoded (true for none at all). */
export function arrivesDecoded(header: string | undefined): boolean {
  return header === undefined || codingsOf(header).every((coding) => DECODED.has(coding));
}

/** The codings workerd's fetch leaves encoded, and the DecompressionStream format that undoes each. */
export const LEFT_BY_WORKERD: Readonly<Record<string, "gzip" | "deflate">> = { deflate: "deflate", "x-gzip": "gzip" };

const onWorkerd = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === "Cloudflare-Workers";

/**
 * The response with its body decoded when it came in a coding the runtime's fetch left as sent (`left`: workerd's by
 * default, none elsewhere), so that every body reaches verdict decoded as arrivesDecoded says. A body in two codings or
 * more is left as it is.
 */
export function undoLeftCoding(response: Response, left: Readonly<Record<string, "gzip" | "deflate">> = onWorkerd ? LEFT_BY_WORKERD : {}): Response {
  const header = response.headers.get("content-encoding");
  const codings = header === null ? [] : codingsOf(header);
  const format = codings.length === 1 ? left[codings[0]!] : undefined;
  if (format === undefined || response.body === null) return response;
  return new Response(response.body.pipeThrough(new DecompressionStream(format)), { status: response.status, statusText: response.statusText, headers: response.headers });
}
