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

/** A key or token sent in a header: something to send, on one line (no header can carry a line break). */
export const headerSecret = () =>
  z
    .string()
    .regex(/\S/, "must not be empty or only spaces")
    .regex(/^[^\r\n]*$/, "must not hold a line break (no header can carry one)");
