// Seeded generator of malformed chat requests for the fuzz test. Every case is invalid by construction, so any 2xx
// it gets is a bug, not bad luck.
import { chatBody } from "../helpers";

export interface FuzzRequest {
  label: string;
  headers: Record<string, string>;
  body: string;
}

type Random = () => number;

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** Values that no field of a chat request accepts where they are put (each list is wrong for its field). */
const WRONG: Record<string, unknown[]> = {
  model: [42, null, "", [], {}, true, ["gpt"]],
  messages: ["hello", 5, null, {}, [], [5], [null], [{}], [{ role: "wizard", content: "x" }], [{ role: 5 }],
    [{ role: "user", content: 5 }], [{ role: "user", content: [5] }], [{ role: "user", content: [{}] }],
    [{ role: "user", content: { text: "x" } }], [[{ role: "user", content: "x" }]]],
  // null is not here for n, stream and seed: the SDKs send it for "not set", and it is read so.
  n: ["2", 0, -1, 1.5, 17, 1e9, true, [2]],
  stream: ["yes", 1, {}],
  seed: ["x", 1.5, {}],
  verdict: ["four", 5, [], true, { n: "4" }, { n: 0 }, { n: 999 }, { n: 2.5 }, { strategy: "magic" }, { strategy: 3 },
    { unknown: 1 }, { min_candidates: 0 }, { cache: "no" }, { tournament: 5 }, { tournament: "swiss" },
    { n: 2, min_candidates: 5 }, { return_candidates: "yes" }, { n: null }],
};

const JUNK = ["{", "}", "[", "\"", "\\", "\u0000", "\ud800", "nul", "tru", ":", ",", "{}", "💥", "\n", " ", "0x1F", "NaN"];

function mutatedObject(random: Random): FuzzRequest {
  const body: Record<string, unknown> = chatBody();
  const fields = Object.keys(WRONG);
  const first = pick(random, fields);
  body[first] = pick(random, WRONG[first]!);
  let label = `wrong_${first}`;
  // Sometimes more damage, or a required field removed; the first mutation alone already makes it invalid.
  if (random() < 0.3) {
    const second = pick(random, fields);
    body[second] = pick(random, WRONG[second]!);
  }
  if (random() < 0.2) delete body[pick(random, ["model", "messages"])];
  const proto = random() < 0.1; // a literal "__proto__" key, which JSON.parse keeps as an own property
  if (random() < 0.2) body.extra = "\ud83d".repeat(1 + Math.floor(random() * 50)); // lone surrogates
  if (random() < 0.1) label += "+deep";
  let text = JSON.stringify(body);
  if (proto) text = `{"__proto__":{"polluted":true},${text.slice(1)}`;
  return { label, headers: { "content-type": "application/json" }, body: label.endsWith("+deep") ? withDeepField(text, random) : text };
}

function withDeepField(json: string, random: Random): string {
  const depth = 1_000 + Math.floor(random() * 6_000); // deep, yet under the 16 KiB body limit
  return `${json.slice(0, -1)},"deep":${"[".repeat(depth)}${"]".repeat(depth)}}`;
}

const GENERATORS: ((random: Random) => FuzzRequest)[] = [
  mutatedObject,
  mutatedObject,
  mutatedObject,
  (random) => {
    const text = JSON.stringify(chatBody({ verdict: { n: 2 } }));
    return { label: "truncated_json", headers: { "content-type": "application/json" }, body: text.slice(0, Math.floor(random() * (text.length - 1))) };
  },
  (random) => ({
    label: "junk",
    headers: { "content-type": pick(random, ["application/json", "text/plain", "application/octet-stream"]) },
    body: Array.from({ length: 1 + Math.floor(random() * 40) }, () => pick(random, JUNK)).join("") + "{",
  }),
  (random) => ({ label: "not_an_object", headers: { "content-type": "application/json" }, body: pick(random, ["1", "\"s\"", "null", "true", "[]", "[{}]", "-0"]) }),
  (random) => ({
    label: "multipart",
    headers: { "content-type": `multipart/form-data; boundary=x${Math.floor(random() * 1e6)}` },
    body: pick(random, ['--x\r\ncontent-disposition: form-data; name="model"\r\n\r\nm\r\n--x--', JSON.stringify(chatBody())]),
  }),
  (random) => ({
    label: "bad_header",
    headers: { "content-type": "application/json", ...pick(random, [{ "x-verdict-n": "lots" }, { "x-verdict-n": "0" }, { "x-verdict-n": "99" }, { "x-verdict-n": "-1" }, { "x-verdict-n": "" }, { "x-verdict-strategy": "magic" }]) },
    body: JSON.stringify(chatBody()),
  }),
  (random) => {
    const count = 51 + Math.floor(random() * 20);
    return { label: "too_many_messages", headers: { "content-type": "application/json" }, body: JSON.stringify(chatBody({ messages: Array.from({ length: count }, () => ({ role: "user", content: "m" })) })) };
  },
  (random) => ({
    label: "too_long",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(chatBody({ messages: [{ role: "user", content: "w".repeat(5_001 + Math.floor(random() * 5_000)) }] })),
  }),
  (random) => ({ label: "too_big", headers: { "content-type": "application/json" }, body: JSON.stringify(chatBody({ pad: "p".repeat(17 * 1024 + Math.floor(random() * 1024)) })) }),
];

export function malformedRequests(random: Random, count: number): FuzzRequest[] {
  return Array.from({ length: count }, () => pick(random, GENERATORS)(random));
}
