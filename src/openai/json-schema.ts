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

/** The first place where `value` breaks `schema`, as "path: problem"; null when it fits. Unknown keywords are ignored. */
export function schemaMismatch(value: unknown, schema: JsonSchema | undefined, path = "$"): string | null {
  if (!schema || typeof schema !== "object") return null;
  if (schema.anyOf) {
    return schema.anyOf.some((option) => schemaMismatch(value, option, path) === null) ? null : `${path}: matches no anyOf branch`;
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => hasType(value, t))) return `${path}: expected ${types.join(" or ")}, got ${typeOf(value)}`;
  }
  if (schema.enum && !schema.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))) {
    return `${path}: not one of the allowed values`;
  }
  if ("const" in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) return `${path}: not the required constant`;
  if (typeOf(value) === "object") {
    const object = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in object)) return `${path}: missing required property ${key}`;
    for (const [key, inner] of Object.entries(object)) {
      const declared = schema.properties?.[key];
      if (declared) {
        const problem = schemaMismatch(inner, declared, `${path}.${key}`);
        if (problem) return problem;
      } else if (schema.additionalProperties === false) {
        return `${path}: unexpected property ${key}`;
      } else if (typeof schema.additionalProperties === "object") {
        const problem = schemaMismatch(inner, schema.additionalProperties, `${path}.${key}`);
        if (problem) return problem;
      }
    }
  }
  if (Array.isArray(value) && schema.items) {
    for (const [i, item] of value.entries()) {
      const problem = schemaMismatch(item, schema.items, `${path}[${i}]`);
      if (problem) return problem;
    }
  }
  return null;
}
