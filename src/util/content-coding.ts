// The content codings verdict's upstream calls undo: the Node exchange decodes these (src/adapters/node-exchange.ts).
// workerd's fetch decodes gzip and br as well (a probe under workerd saw gzip decoded and zstd left as it was; deflate
// and x-gzip were not tried there). A body in any other coding (zstd, say, from an upstream that ignored the absent
// accept-encoding) comes as it was sent, and its Content-Encoding must go with it.

const DECODED = new Set(["gzip", "x-gzip", "deflate", "br"]);

/** The codings a Content-Encoding header lists, in the order they were applied, `identity` left out. */
export function codingsOf(header: string): string[] {
  return header.toLowerCase().split(",").map((coding) => coding.trim()).filter((coding) => coding !== "" && coding !== "identity");
}

/** Whether a body sent with this Content-Encoding reaches verdict decoded (true for none at all). */
export function arrivesDecoded(header: string | undefined): boolean {
  return header === undefined || codingsOf(header).every((coding) => DECODED.has(coding));
}
