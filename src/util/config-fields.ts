// Config fields that several sections share: where a service is, and a secret that travels in a header.
import { z } from "zod";

/**
 * An http(s) base URL that paths are appended to. No user or password (fetch refuses them, and the URL is printed in
 * the startup line), and no query or fragment: `/chat/completions` would land after them, and a key in the query
 * would be printed too.
 */
export const serviceUrl = (keyField: string) =>
  z
    .url({ protocol: /^https?$/ })
    .refine((url) => !/^[a-z]+:\/\/[^/?#]*@/i.test(url), `must not hold a user or password: put the key in ${keyField}`)
    .refine((url) => !/[?#]/.test(url), `must not hold a query or fragment: paths are appended to it (put a key in ${keyField})`);

/**
 * A key or token sent in a header: something to send, in characters a header can carry. Node's HTTP client refuses a
 * value with a line break, a control character or a letter outside Latin-1 when the call is made, so such a key would
 * turn every call into "upstream unreachable"; here it is a startup error naming the field. Keys are printable ASCII.
 */
export const headerSecret = () =>
  z
    .string()
    .regex(/\S/, "must not be empty or only spaces")
    .regex(/^[^\r\n]*$/, "must not hold a line break (no header can carry one)")
    .regex(/^[\t\x20-\x7e\r\n]*$/, "must be printable ASCII: no header carries control characters, and letters beyond ASCII are sent differently by different clients");
