// A small JSON Schema subset check (type, enum, const, required, properties, additionalProperties, items): enough to
// tell a candidate that ignores the client's response_format from one that follows it, without a validator dependency.

export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  required?: string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
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

class TooMuchWork extends Error {}

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
  const budget = { steps: 0 };
  try {
    return mismatch(value, schema, path, budget);
  } catch (err) {
    if (err instanceof TooMuchWork) return null;
    throw err;
  }
}

function mismatch(value: unknown, schema: JsonSchema | undefined, path: string, budget: { steps: number }): string | null {
  if (!isRecord(schema)) return null;
  if (++budget.steps > MAX_SCHEMA_STEPS) throw new TooMuchWork();
  // anyOf holds beside the other keywords at its level, not instead of them.
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((option) => mismatch(value, option, path, budget) === null)) {
    return `${path}: matches no anyOf branch`;
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
    for (const [key, inner] of Object.entries(object)) {
      const declared = properties && Object.hasOwn(properties, key) ? properties[key] : undefined;
      if (declared) {
        const problem = mismatch(inner, declared, `${path}.${key}`, budget);
        if (problem) return problem;
      } else if (schema.additionalProperties === false) {
        return `${path}: unexpected property ${key}`;
      } else if (isRecord(schema.additionalProperties)) {
        const problem = mismatch(inner, schema.additionalProperties, `${path}.${key}`, budget);
        if (problem) return problem;
      }
    }
  }
  if (Array.isArray(value) && isRecord(schema.items)) {
    for (const [i, item] of value.entries()) {
      const problem = mismatch(item, schema.items, `${path}[${i}]`, budget);
      if (problem) return problem;
    }
  }
  return null;
}
