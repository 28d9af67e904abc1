// Simulated JSON answers for response_format json_object / json_schema; a seeded share of them is broken on purpose.
import { hashText, seededRandom } from "./random";
import { valueFor, type JsonSchema } from "./tools";

interface ResponseFormat {
  type?: string;
  json_schema?: { schema?: JsonSchema };
}

export function wantsJson(body: Record<string, unknown>): boolean {
  const type = (body.response_format as ResponseFormat | undefined)?.type;
  return type === "json_object" || type === "json_schema";
}

/**
 * A JSON answer built from the prose one (so qualities still differ). With probability `invalidRate` it is broken:
 * cut short (does not parse) or, under a schema, missing its first required field (parses, does not match).
 */
export function simulatedJson(body: Record<string, unknown>, prose: string, seed: number, invalidRate: number): string {
  const format = body.response_format as ResponseFormat;
  const random = seededRandom(hashText(`json:${seed}`));
  const schema = format.type === "json_schema" ? format.json_schema?.schema : undefined;
  const value = (schema ? valueFor(schema, random) : { answer: prose }) as Record<string, unknown>;
  // Vary one string field with the prose, so candidates differ and the judge has something to prefer.
  const textKey = Object.keys(value).find((k) => typeof value[k] === "string");
  if (textKey) value[textKey] = prose;
  const broken = random() < invalidRate;
  if (!broken) return JSON.stringify(value);
  const required = schema?.required?.[0];
  if (required && random() < 0.5) {
    delete value[required];
    return JSON.stringify(value);
  }
  const full = JSON.stringify(value);
  return full.slice(0, Math.max(1, full.length - 7));
}
