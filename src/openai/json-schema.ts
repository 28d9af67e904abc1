// A small JSON Schema subset check (type, enum, const, required, properties, additionalProperties, items, anyOf, allOf
// and references within the schema): enough to tell a candidate that ignores the client's response_format from one
// that follows it, without a validator dependency.

export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  required?: string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  /** A part of the same schema ("#/$defs/Address", "#" for a recursive one): nested Pydantic and zod models use them. */
  $ref?: string;
  /** A part's own identity: references inside it name its parts, not the whole's. */
  $id?: string;
  /** The draft the schema is written to (read from the whole schema only). */
  $schema?: string;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function hasType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === "number" && actual === "integer");
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeOf(value) === "object";

/**
 * Schema nodes one check may visit. A client's schema and a model's answer can each be megabytes; their product must
 * not hold the event loop (an enum of 300,000 values checked against an answer of 100 items took 25 s). A check that
 * would go past it gives up and finds nothing wrong: the candidate is judged, not left out.
 */
export const MAX_SCHEMA_STEPS = 100_000;

/**
 * Checks one check may have on the stack at once. A recursive schema (a tree of comments) is followed as deep as the
 * answer goes, and references can chain without going deeper into it; each step is a frame or two.
 */
const MAX_FRAMES = 1_000;

class TooMuchWork extends Error {}

/** What one check carries along. */
interface Walk {
  steps: number;
  frames: number;
  /** The client's schema, which references point into. */
  root: JsonSchema;
  /** Drafts 4 to 7 ignore every keyword beside a `$ref` (zodResponseFormat writes draft-07); later drafts apply them. */
  refAlone: boolean;
  /**
   * What each object or array of the answer gave against each schema node already (null while it is being checked, so
   * a loop of references comes back empty). An answer is a tree, so a value has one path and its message stays right;
   * without this, `allOf` of the same reference twice at each of a few levels made a 1 KB schema take seconds.
   */
  checked: Map<object, Map<JsonSchema, string | null>>;
}

/** A JSON pointer's token as the key it names (`~1` is `/`, `~0` is `~`, in a URI fragment's %-encoding); undefined if garbled. */
function pointerKey(token: string): string | undefined {
  try {
    return decodeURIComponent(token).replaceAll("~1", "/").replaceAll("~0", "~");
  } catch {
    return undefined;
  }
}

/** Each schema's references, resolved once. */
const resolvedRefs = new WeakMap<JsonSchema, Map<string, JsonSchema | undefined>>();

/**
 * The part of `root` a local reference names ("#", "#/$defs/Address", "#/definitions/Node", any JSON pointer within
 * it); undefined for one that names nothing there or lies elsewhere (another document, which is never fetched).
 */
function resolveRef(root: JsonSchema, ref: string): JsonSchema | undefined {
  let byRef = resolvedRefs.get(root);
  if (byRef === undefined) resolvedRefs.set(root, (byRef = new Map()));
  if (byRef.has(ref)) return byRef.get(ref);
  let target: unknown = ref === "#" || ref.startsWith("#/") ? root : undefined;
  if (ref.startsWith("#/")) {
    for (const token of ref.slice(2).split("/")) {
      const key = pointerKey(token);
      const holder = target as Record<string, unknown> | undefined;
      target = key !== undefined && (isRecord(holder) || Array.isArray(holder)) && Object.hasOwn(holder, key) ? holder[key] : undefined;
    }
  }
  const found = isRecord(target) ? (target as JsonSchema) : undefined;
  byRef.set(ref, found);
  return found;
}

/** The JSON text of each allowed value, once per schema: a value is then looked up, not compared with each in turn. */
const enumTexts = new WeakMap<unknown[], Set<string>>();
const constTexts = new WeakMap<JsonSchema, string>();

function allowed(options: unknown[]): Set<string> {
  let texts = enumTexts.get(options);
  if (texts === undefined) enumTexts.set(options, (texts = new Set(options.map((option) => JSON.stringify(option)))));
  return texts;
}

function constantText(schema: JsonSchema): string {
  let text = constTexts.get(schema);
  if (text === undefined) constTexts.set(schema, (text = JSON.stringify(schema.const)));
  return text;
}

/**
 * The first place where `value` breaks `schema`, as "path: problem"; null when it fits, or when checking would take
 * more than MAX_SCHEMA_STEPS. The schema is the client's and unchecked: unknown keywords, and known ones of a shape
 * this check cannot use (an `anyOf` that is not a list), are ignored, as a server without strict schemas would.
 */
export function schemaMismatch(value: unknown, schema: JsonSchema | undefined, path = "$"): string | null {
  if (!isRecord(schema)) return null;
  const refAlone = typeof schema.$schema === "string" && /draft-0[4-7]\b/.test(schema.$schema);
  const walk: Walk = { steps: 0, frames: 0, root: schema, refAlone, checked: new Map() };
  try {
    return mismatch(value, schema, path, walk, false);
  } catch (err) {
    if (err instanceof TooMuchWork) return null;
    throw err;
  }
}

/**
 * `scoped`: inside a part of the schema with an `$id` of its own, where a reference names something of that part, not
 * of the whole; it is not followed (as one to another document is not).
 */
function mismatch(value: unknown, schema: JsonSchema | undefined, path: string, walk: Walk, scoped: boolean): string | null {
  if (!isRecord(schema)) return null;
  if (++walk.steps > MAX_SCHEMA_STEPS || walk.frames >= MAX_FRAMES) throw new TooMuchWork();
  const within = scoped || (schema !== walk.root && typeof schema.$id === "string");
  // Objects and arrays only: a primitive is checked in a step, and has no identity to remember it by.
  const memo = typeof value === "object" && value !== null && !within ? rememberedFor(walk, value) : undefined;
  if (memo?.has(schema)) return memo.get(schema)!;
  memo?.set(schema, null);
  walk.frames += 1;
  try {
    const problem = check(value, schema, path, walk, within);
    memo?.set(schema, problem);
    return problem;
  } finally {
    walk.frames -= 1;
  }
}

function rememberedFor(walk: Walk, value: object): Map<JsonSchema, string | null> {
  let memo = walk.checked.get(value);
  if (memo === undefined) walk.checked.set(value, (memo = new Map()));
  return memo;
}

function check(value: unknown, schema: JsonSchema, path: string, walk: Walk, scoped: boolean): string | null {
  // A reference holds beside the other keywords at its level (as JSON Schema 2020-12 reads it; drafts 4 to 7 read it
  // alone), and so do anyOf and allOf. One that names nothing in the schema is ignored, as unknown keywords are.
  if (typeof schema.$ref === "string" && !scoped) {
    const problem = mismatch(value, resolveRef(walk.root, schema.$ref), path, walk, false);
    if (problem || walk.refAlone) return problem;
  }
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((option) => mismatch(value, option, path, walk, scoped) === null)) {
    return `${path}: matches no anyOf branch`;
  }
  if (Array.isArray(schema.allOf)) {
    for (const part of schema.allOf) {
      const problem = mismatch(value, part, path, walk, scoped);
      if (problem) return problem;
    }
  }
  const types = typeof schema.type === "string" ? [schema.type] : Array.isArray(schema.type) ? schema.type.filter((t) => typeof t === "string") : [];
  if (types.length > 0 && !types.some((t) => hasType(value, t))) return `${path}: expected ${types.join(" or ")}, got ${typeOf(value)}`;
  if (Array.isArray(schema.enum) && !allowed(schema.enum).has(JSON.stringify(value))) return `${path}: not one of the allowed values`;
  if ("const" in schema && constantText(schema) !== JSON.stringify(value)) return `${path}: not the required constant`;
  if (isRecord(value)) {
    const object = value;
    const required = Array.isArray(schema.required) ? schema.required : [];
    for (const key of required) if (typeof key === "string" && !Object.hasOwn(object, key)) return `${path}: missing required property ${key}`;
    const properties = isRecord(schema.properties) ? schema.properties : undefined;
    const others = schema.additionalProperties;
    // Each key is a step; a node that says nothing of them is no reason to go through a large object's keys.
    if (properties !== undefined || others === false || isRecord(others)) {
      for (const [key, inner] of Object.entries(object)) {
        if (++walk.steps > MAX_SCHEMA_STEPS) throw new TooMuchWork();
        const declared = properties && Object.hasOwn(properties, key) ? properties[key] : undefined;
        if (declared) {
          const problem = mismatch(inner, declared, `${path}.${key}`, walk, scoped);
          if (problem) return problem;
        } else if (others === false) {
          return `${path}: unexpected property ${key}`;
        } else if (isRecord(others)) {
          const problem = mismatch(inner, others, `${path}.${key}`, walk, scoped);
          if (problem) return problem;
        }
      }
    }
  }
  if (Array.isArray(value) && isRecord(schema.items)) {
    for (const [i, item] of value.entries()) {
      const problem = mismatch(item, schema.items, `${path}[${i}]`, walk, scoped);
      if (problem) return problem;
    }
  }
  return null;
}
