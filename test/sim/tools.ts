// Simulated tool calls: when a request offers `tools`, the generator calls one, deterministically from the seed.
import { hashText, seededRandom } from "./random";

interface ToolSpec {
  type?: string;
  function?: { name?: string; parameters?: JsonSchema };
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  items?: JsonSchema;
}

export interface SimToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

const WORDS = ["paris", "tokyo", "lima", "oslo", "celsius", "today", "tomorrow", "blue", "seven", "north"];

/** A value that fits `schema`, chosen by `random`: enough for tools' arguments and for JSON answers. */
export function valueFor(schema: JsonSchema | undefined, random: () => number, depth = 0): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  if (schema?.enum && schema.enum.length > 0) return pick(schema.enum);
  const type = Array.isArray(schema?.type) ? schema.type[0] : schema?.type;
  switch (type) {
    case "integer":
      return Math.floor(random() * 100);
    case "number":
      return Math.round(random() * 1000) / 10;
    case "boolean":
      return random() < 0.5;
    case "array":
      return depth > 3 ? [] : Array.from({ length: 1 + Math.floor(random() * 3) }, () => valueFor(schema?.items, random, depth + 1));
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(schema?.properties ?? {})) out[key] = depth > 3 ? null : valueFor(inner, random, depth + 1);
      return out;
    }
    default:
      return `${pick(WORDS)} ${pick(WORDS)}`;
  }
}

/** Whether this draw calls a tool: never with tool_choice "none", always when required or named, else seeded. */
export function decidesToCall(body: Record<string, unknown>, seed: number, rate: number): boolean {
  const tools = Array.isArray(body.tools) ? body.tools : [];
  if (tools.length === 0) return false;
  const choice = body.tool_choice;
  if (choice === "none") return false;
  if (choice === "required" || (typeof choice === "object" && choice !== null)) return true;
  // After a tool result the simulated model answers, so an agent loop built on it ends.
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: string }[]) : [];
  if (messages.at(-1)?.role === "tool") return false;
  return seededRandom(hashText(`call?:${seed}`))() < rate;
}

export function simulatedToolCall(body: Record<string, unknown>, seed: number): SimToolCall {
  const tools = (body.tools as ToolSpec[]).filter((t) => t.function?.name);
  const named = (body.tool_choice as { function?: { name?: string } } | undefined)?.function?.name;
  const random = seededRandom(hashText(`tool:${seed}`));
  const tool = tools.find((t) => t.function!.name === named) ?? tools[Math.floor(random() * tools.length)]!;
  const args = valueFor({ type: "object", ...tool.function!.parameters }, random);
  return {
    id: `call_sim_${(hashText(`id:${seed}`) % 1e8).toString(36)}`,
    type: "function",
    function: { name: tool.function!.name!, arguments: JSON.stringify(args) },
  };
}
