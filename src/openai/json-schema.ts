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
 * The first place where `value` breaks `schema`, as "path: problem"; null when it fits. The schema is the client's and
 * unchecked: unknown keywords, and known ones of a shape this check cannot use (an `anyOf` that is not a list), are
 * ignored, as a server without strict schemas would.
 */
export function schemaMismatch(value: unknown, schema: JsonSchema | undefined, path = "$"): string | null {
  if (!isRecord(schema)) return null;
  // anyOf holds beside the other keywords at its level, not instead of them.
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((option) => schemaMismatch(value, option, path) === null)) {
    return `${path}: matches no anyOf branch`;
  }
  const types = typeof schema.type === "string" ? [schema.type] : Array.isArray(schema.type) ? schema.type.filter((t) => typeof t === "string") : [];
  if (types.length > 0 && !types.some((t) => hasType(value, t))) return `${path}: expected ${types.join(" or ")}, got ${typeOf(value)}`;
  if (Array.isArray(schema.enum) && !schema.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))) {
    return `${path}: not one of the allowed values`;
  }
  if ("const" in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) return `${path}: not the required constant`;
  if (isRecord(value)) {
    const object = value;
    const required = Array.isArray(schema.required) ? schema.required : [];
    for (const key of required) if (typeof key === "string" && !Object.hasOwn(object, key)) return `${path}: missing required property ${key}`;
    const properties = isRecord(schema.properties) ? schema.properties : undefined;
    for (const [key, inner] of Object.entries(object)) {
      const declared = properties && Object.hasOwn(properties, key) ? properties[key] : undefined;
      if (declared) {
        const problem = schemaMismatch(inner, declared, `${path}.${key}`);
        if (problem) return problem;
      } else if (schema.additionalProperties === false) {
        return `${path}: unexpected property ${key}`;
      } else if (isRecord(schema.additionalProperties)) {
        const problem = schemaMismatch(inner, schema.additionalProperties, `${path}.${key}`);
        if (problem) return problem;
      }
    }
  }
  if (Array.isArray(value) && isRecord(schema.items)) {
    for (const [i, item] of value.entries()) {
      const problem = schemaMismatch(item, schema.items, `${path}[${i}]`);
      if (problem) return problem;
    }
  }
  return null;
}
