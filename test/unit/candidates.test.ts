// Exclusion rules before judging: response_format, tool_choice, and the text/tool-call majority rule.
import { describe, expect, it } from "vitest";
import { admissionRules, createCandidatePool, exclusionOf } from "../../src/candidates";
import { messageText } from "../../src/openai/chat";
import { schemaMismatch } from "../../src/openai/json-schema";
import { candidate } from "../scripted-judge";

const toolCall = (index: number, name = "f") => ({
  ...candidate(index, `[tool call] ${name}({})`),
  message: { role: "assistant", content: null, tool_calls: [{ id: `c${index}`, type: "function", function: { name, arguments: "{}" } }] },
});
const tools = [{ type: "function", function: { name: "f" } }];

describe("JSON schema subset", () => {
  const schema = {
    type: "object",
    properties: { city: { type: "string" }, n: { type: "integer" }, unit: { enum: ["c", "f"] }, tags: { type: "array", items: { type: "string" } } },
    required: ["city"],
    additionalProperties: false,
  };
  it.each([
    [{ city: "x", n: 1, unit: "c", tags: ["a"] }, null],
    [{ n: 1 }, "$: missing required property city"],
    [{ city: 1 }, "$.city: expected string, got integer"],
    [{ city: "x", n: 1.5 }, "$.n: expected integer, got number"],
    [{ city: "x", unit: "k" }, "$.unit: not one of the allowed values"],
    [{ city: "x", tags: ["a", 2] }, "$.tags[1]: expected string, got integer"],
    [{ city: "x", extra: true }, "$: unexpected property extra"],
    [[], "$: expected object, got array"],
  ])("%j -> %s", (value, problem) => {
    expect(schemaMismatch(value, schema)).toBe(problem);
  });

  it("a required property is the object's own, not one every object inherits", () => {
    expect(schemaMismatch({}, { type: "object", required: ["constructor"] })).toBe("$: missing required property constructor");
  });

  it("checks anyOf beside the other keywords at its level", () => {
    const withAnyOf = { type: "object", properties: { a: { type: "integer" } }, anyOf: [{ required: ["a"] }, { required: ["b"] }] };
    expect(schemaMismatch({ a: "not an integer" }, withAnyOf)).toBe("$.a: expected integer, got string");
    expect(schemaMismatch({ c: 1 }, withAnyOf)).toBe("$: matches no anyOf branch");
    expect(schemaMismatch({ a: 1 }, withAnyOf)).toBeNull();
  });
});

describe("JSON schema references", () => {
  // As nested Pydantic models and openai's zodResponseFormat write them: the shared part under $defs, named by $ref.
  const person = {
    type: "object",
    properties: { name: { type: "string" }, address: { $ref: "#/$defs/Address" } },
    required: ["name", "address"],
    additionalProperties: false,
    $defs: { Address: { type: "object", properties: { street: { type: "string" }, zip: { type: "string" } }, required: ["street", "zip"], additionalProperties: false } },
  };
  it.each([
    [{ name: "Ann", address: { street: "Main St 1", zip: "12345" } }, null],
    [{ name: "Bob", address: { street: 42, zip: "1" } }, "$.address.street: expected string, got integer"],
    [{ name: "Bob", address: { street: "x" } }, "$.address: missing required property zip"],
  ])("a part under $defs: %j -> %s", (value, problem) => {
    expect(schemaMismatch(value, person)).toBe(problem);
  });

  it("follows definitions, a recursive schema ('#') and escaped pointer tokens", () => {
    const tree = { type: "object", properties: { label: { type: "string" }, children: { type: "array", items: { $ref: "#" } } }, required: ["label"] };
    expect(schemaMismatch({ label: "a", children: [{ label: "b", children: [{ label: "c" }] }] }, tree)).toBeNull();
    expect(schemaMismatch({ label: "a", children: [{ label: "b", children: [{ label: 3 }] }] }, tree)).toBe("$.children[0].children[0].label: expected string, got integer");
    const legacy = { definitions: { "a/b": { type: "integer" } }, properties: { n: { $ref: "#/definitions/a~1b" } } };
    expect(schemaMismatch({ n: "one" }, legacy)).toBe("$.n: expected integer, got string");
  });

  it("checks every allOf part", () => {
    const both = { allOf: [{ $ref: "#/$defs/Named" }, { required: ["age"] }], $defs: { Named: { required: ["name"] } } };
    expect(schemaMismatch({ name: "x", age: 1 }, both)).toBeNull();
    expect(schemaMismatch({ age: 1 }, both)).toBe("$: missing required property name");
    expect(schemaMismatch({ name: "x" }, both)).toBe("$: missing required property age");
  });

  it.each([
    ["names nothing in the schema", { properties: { a: { $ref: "#/$defs/Missing" } } }, { a: 1 }],
    ["lies in another document", { properties: { a: { $ref: "https://example.com/schema.json" } } }, { a: 1 }],
    ["is a garbled pointer", { properties: { a: { $ref: "#/%E0%A4%A" } } }, { a: 1 }],
    ["points at itself", { $ref: "#" }, { a: 1 }],
    ["goes round a loop of references", { $ref: "#/$defs/A", $defs: { A: { anyOf: [{ $ref: "#/$defs/B" }] }, B: { $ref: "#/$defs/A" } } }, 1],
  ])("a reference that %s is given up on, never followed without end", (_, schema, value) => {
    expect(schemaMismatch(value, schema as never)).toBeNull();
  });

  it.each([
    [8, 0],
    [32, 0],
    [2, 30],
  ])("gives up rather than run out of stack on chains of %i references (each in %i anyOf) through a deep answer", (hops, wrap) => {
    const defs: Record<string, unknown> = {};
    for (let i = 0; i < hops; i++) {
      let part: unknown = i === hops - 1 ? { type: "object", properties: { c: { $ref: "#/$defs/d0" } } } : { $ref: `#/$defs/d${i + 1}` };
      for (let w = 0; w < wrap; w++) part = { anyOf: [part] };
      defs[`d${i}`] = part;
    }
    let deep: unknown = { c: 1 };
    for (let i = 0; i < 300; i++) deep = { c: deep };
    expect(schemaMismatch(deep, { $defs: defs, $ref: "#/$defs/d0" } as never)).toBeNull();
  });

  it("checks each part of the answer against each part of the schema once: a small schema cannot fan out into seconds", () => {
    const defs: Record<string, unknown> = {};
    for (let i = 0; i < 17; i++) defs[`d${i}`] = { allOf: [{ $ref: `#/$defs/d${i + 1}` }, { $ref: `#/$defs/d${i + 1}` }] };
    defs.d17 = { type: "object", required: ["k0"] };
    const answer = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`k${i}`, i]));
    const started = performance.now();
    expect(schemaMismatch(answer, { $defs: defs, $ref: "#/$defs/d0" } as never)).toBeNull();
    expect(schemaMismatch({ k1: 1 }, { $defs: defs, $ref: "#/$defs/d0" } as never)).toBe("$: missing required property k0");
    expect(performance.now() - started).toBeLessThan(200);
  });

  it("reads a $ref alone in a draft-07 schema (as zodResponseFormat writes), beside other keywords in a later one", () => {
    const base = { definitions: { Base: { type: "object", properties: { a: { type: "string" } } } }, type: "object", properties: { x: { $ref: "#/definitions/Base", additionalProperties: false } } };
    expect(schemaMismatch({ x: { a: "s", b: 1 } }, { $schema: "http://json-schema.org/draft-07/schema#", ...base } as never)).toBeNull();
    expect(schemaMismatch({ x: { a: 1 } }, { $schema: "http://json-schema.org/draft-07/schema#", ...base } as never)).toBe("$.x.a: expected string, got integer");
    // In 2020-12, additionalProperties sees only the properties beside it, not those of the part it references.
    expect(schemaMismatch({ x: { a: "s", b: 1 } }, base as never)).toBe("$.x: unexpected property a");
  });

  it("does not follow a reference inside a part with an $id of its own, whose names are that part's", () => {
    const withId = { $defs: { A: { type: "string" } }, type: "object", properties: { p: { $id: "https://example.com/p", $defs: { A: { type: "integer" } }, $ref: "#/$defs/A" } } };
    expect(schemaMismatch({ p: 3 }, withId as never)).toBeNull();
  });

  it("gives up on an answer deeper than any structured output, rather than run out of stack", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(schemaMismatch(deep, { anyOf: [{ type: "string" }, { type: "array", items: { $ref: "#" } }] })).toBeNull();
    expect(schemaMismatch([[["leaf", 2]]], { anyOf: [{ type: "string" }, { type: "array", items: { $ref: "#" } }] })).toBe("$: matches no anyOf branch");
  });
});

describe("a client's schema of a shape the check cannot use", () => {
  it.each([
    [{ anyOf: "x" }, { a: 1 }],
    [{ enum: "x" }, "y"],
    [{ type: "object", required: 5 }, { a: 1 }],
    [{ type: "object", properties: "abc" }, { 0: 1 }],
    [{ type: "object", properties: { __proto__: { type: "string" } } }, JSON.parse('{"__proto__": 1, "toString": 2}')],
    [{ type: "array", items: 3 }, [1, 2]],
    [{ type: 7 }, "text"],
    [{ type: "object", additionalProperties: "no" }, { a: 1 }],
  ])("%j is ignored where it cannot be used, never thrown over", (schema, value) => {
    expect(schemaMismatch(value, schema as never)).toBeNull();
  });
});

describe("candidate pool rules", () => {
  it("json_object: content must parse to an object", () => {
    const pool = createCandidatePool(admissionRules({ response_format: { type: "json_object" } }));
    pool.admit(candidate(0, '{"a":1}'));
    pool.admit(candidate(1, '{"a":'));
    pool.admit(candidate(2, "[1]"));
    expect([...pool.excluded]).toEqual([[1, "invalid_json"], [2, "schema_mismatch"]]);
    expect(pool.excludedRanking()).toEqual([2, 1]); // parses but wrong shape beats does not parse
  });

  it("tool_choice required excludes plain answers; tool_choice none excludes calls", () => {
    const required = createCandidatePool(admissionRules({ tools, tool_choice: "required" }));
    expect(required.admit(candidate(0))).toBeNull();
    expect(required.admit(toolCall(1))).not.toBeNull();
    expect(required.excluded.get(0)).toBe("missing_tool_call");
    const none = createCandidatePool(admissionRules({ tools, tool_choice: "none" }));
    expect(none.admit(toolCall(0))).toBeNull();
    expect(none.excluded.get(0)).toBe("unexpected_tool_call");
    expect(none.admit(candidate(1))).not.toBeNull();
  });

  it("allowed_tools in mode auto lets text answers compete; a named tool or mode required asks for a call", () => {
    const allowed = (mode: string) => ({ type: "allowed_tools", allowed_tools: { mode, tools: [{ type: "function", function: { name: "f" } }] } });
    expect(admissionRules({ tools, tool_choice: allowed("auto") }).toolChoice).toBe("auto");
    expect(admissionRules({ tools, tool_choice: allowed("required") }).toolChoice).toBe("required");
    expect(admissionRules({ tools, tool_choice: { type: "function", function: { name: "f" } } }).toolChoice).toBe("required");
  });

  it("a named tool_choice ranks a call of another tool last, as allowed_tools does for tools it does not list", () => {
    const calling = (index: number, name: string) => {
      const message = { role: "assistant", content: null, tool_calls: [{ id: `c${index}`, type: "function", function: { name, arguments: "{}" } }] };
      return { ...candidate(index), text: `[tool call] ${name}()`, message };
    };
    const named = createCandidatePool(admissionRules({ tools, tool_choice: { type: "function", function: { name: "f" } } }));
    expect(named.admit(calling(0, "f"))).not.toBeNull();
    expect(named.admit(calling(1, "g"))).toBeNull();
    expect(named.excluded.get(1)).toBe("wrong_tool");
    const allowed = createCandidatePool(admissionRules({ tools, tool_choice: { type: "allowed_tools", allowed_tools: { mode: "auto", tools: [{ type: "function", function: { name: "f" } }] } } }));
    allowed.admit(calling(2, "g"));
    allowed.admit(candidate(3));
    expect(allowed.excluded.get(2)).toBe("wrong_tool");
    expect(allowed.excluded.has(3)).toBe(false); // mode auto: a text answer is fine (held for the majority-kind rule)
  });

  it("merges repeats by all their text: the same answer after different reasoning is no repeat", () => {
    const pool = createCandidatePool();
    const reasoned = (index: number, reasoning: string) => ({ ...candidate(index, "There are 15."), fullText: `<think>${reasoning}</think>\nThere are 15.` });
    expect(pool.admit(reasoned(0, "3 times 5"))).not.toBeNull();
    expect(pool.admit(reasoned(1, "5 times 3"))).not.toBeNull();
    expect(pool.admit(reasoned(2, "3 times 5"))).toBeNull(); // a true repeat
    expect(pool.judgeable.map((c) => c.index)).toEqual([0, 1]);
  });

  it("ranks last an answer the server stopped writing (vLLM's and SGLang's abort), next to a truncated one", () => {
    expect(exclusionOf({ ...candidate(0, "The answer is"), finish_reason: "abort" })).toBe("unfinished");
    expect(exclusionOf({ ...candidate(0, "The answer is"), finish_reason: "error" })).toBe("unfinished");
    expect(exclusionOf({ ...candidate(0, "The answer is"), finish_reason: "length" })).toBe("truncated");
    for (const finished of ["stop", "tool_calls", "eos", null]) expect(exclusionOf({ ...candidate(0, "The answer is 7."), finish_reason: finished })).toBeNull();
  });

  it("takes an answer of zero-width characters alone for an empty one", () => {
    for (const invisible of ["\u200B", " \u200C\u200D ", "\u2060", "\uFEFF\n"]) expect(exclusionOf(candidate(0, invisible))).toBe("empty");
    expect(exclusionOf(candidate(1, "\u200BParis"))).toBeNull();
  });

  it("ranks last a tool call or a legacy function call the request offered nothing for", () => {
    const calling = { ...candidate(0), text: "[tool call] lookup({})", message: { role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "lookup", arguments: "{}" } }] } };
    expect(exclusionOf(calling, admissionRules({}))).toBe("wrong_tool");
    expect(exclusionOf(calling, admissionRules({ tools: [] }))).toBe("wrong_tool");
    const legacyMessage = { role: "assistant", content: null, function_call: { name: "lookup", arguments: '{"q": 1}' } };
    const legacy = { ...candidate(1), text: messageText(legacyMessage), message: legacyMessage };
    // Read as a call, as tool calls are: not an empty answer.
    expect(legacy.text).toBe('[function call] lookup({"q":1})');
    expect(exclusionOf(legacy, admissionRules({}))).toBe("wrong_tool");
    expect(exclusionOf(legacy, admissionRules({ functions: [{ name: "other" }] }))).toBe("wrong_tool");
    expect(exclusionOf(legacy, admissionRules({ functions: [{ name: "lookup", parameters: {} }] }))).toBeNull();
    expect(exclusionOf(candidate(2), admissionRules({}))).toBeNull();
  });

  it("custom tool calls read as their name and input, so different calls are never merged as identical", () => {
    const custom = (input: string) => ({ role: "assistant", content: null, tool_calls: [{ id: "c", type: "custom", custom: { name: "run_sql", input } }] });
    expect(messageText(custom("SELECT 1"))).toBe("[tool call] run_sql(SELECT 1)");
    expect(messageText(custom("SELECT 1"))).not.toBe(messageText(custom("DROP TABLE users")));
    const unknown = { role: "assistant", content: null, tool_calls: [{ id: "c", type: "mcp", server: "x", args: { q: 1 } }] };
    expect(messageText(unknown)).toContain('"server":"x"');
  });

  it("tool_choice auto holds candidates back, then judges the majority kind; a tie goes to tool calls", () => {
    const pool = createCandidatePool(admissionRules({ tools }));
    for (const c of [candidate(0), toolCall(1), candidate(2), candidate(3)]) expect(pool.admit(c)).toBeNull();
    expect(pool.settle().map((c) => c.index)).toEqual([0, 2, 3]);
    expect(pool.excluded.get(1)).toBe("minority_kind");

    const tie = createCandidatePool(admissionRules({ tools: [...tools, { type: "function", function: { name: "g" } }], tool_choice: "auto" }));
    for (const c of [candidate(0), toolCall(1), toolCall(2, "g"), candidate(3)]) tie.admit(c);
    expect(tie.settle().map((c) => c.index)).toEqual([1, 2]);
  });

  it("ranks last a call whose arguments are no JSON object, and a call of a tool the request never offered", () => {
    const withArgs = (index: number, name: string, args: unknown) => ({
      ...candidate(index, `[tool call] ${name}`),
      message: { role: "assistant", content: null, tool_calls: [{ id: `c${index}`, type: "function", function: { name, arguments: args } }] },
    });
    const rules = admissionRules({ tools, tool_choice: "required" });
    expect(exclusionOf(withArgs(0, "f", '{"city":"Paris"}'), rules)).toBeNull();
    expect(exclusionOf(withArgs(1, "f", '{"city":"Par'), rules)).toBe("malformed_tool_call");
    expect(exclusionOf(withArgs(2, "f", null), rules)).toBe("malformed_tool_call");
    expect(exclusionOf(withArgs(3, "f", "[1,2]"), rules)).toBe("malformed_tool_call");
    expect(exclusionOf(withArgs(4, "launch_missiles", "{}"), admissionRules({ tools, tool_choice: "auto" }))).toBe("wrong_tool");
    // A strict tool's calls must fit its parameters, as the SDK's parse() checks them; a tool not marked strict is not checked.
    const parameters = { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false };
    const strictTools = [{ type: "function", function: { name: "f", strict: true, parameters } }, { type: "function", function: { name: "g", parameters } }];
    const strictRules = admissionRules({ tools: strictTools, tool_choice: "required" });
    expect(exclusionOf(withArgs(6, "f", '{"city":"Paris"}'), strictRules)).toBeNull();
    expect(exclusionOf(withArgs(7, "f", '{"city":5,"note":"x"}'), strictRules)).toBe("arguments_mismatch");
    expect(exclusionOf(withArgs(8, "g", '{"city":5}'), strictRules)).toBeNull();
    // A custom tool takes free text.
    const custom = { ...candidate(5, "[tool call] grep"), message: { role: "assistant", content: null, tool_calls: [{ id: "c5", type: "custom", custom: { name: "grep", input: "not json" } }] } };
    expect(exclusionOf(custom, admissionRules({ tools: [{ type: "custom", custom: { name: "grep" } }] }))).toBeNull();
  });

  it("without tools nothing is held back", () => {
    const pool = createCandidatePool(admissionRules({}));
    expect(pool.admit(candidate(0))).not.toBeNull();
    expect(pool.settle()).toEqual([]);
  });
});
