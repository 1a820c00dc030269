import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ToolSpec } from "../../../src/server/core/turn.js";
import { parseToolCalls, parseToolCallsDetailed } from "../../../src/server/protocols/tools/parse.js";
import { CASES, TOOLS, fixture } from "./fixtures.js";

const readable = (calls: Array<{ name: string; arguments: string }>) => calls.map((c) => ({ name: c.name, args: JSON.parse(c.arguments) as unknown }));

describe("parseToolCalls on recorded-style fixtures", () => {
  it("covers every fixture file", () => {
    const files = readdirSync(fileURLToPath(new URL("./fixtures/", import.meta.url))).filter((f) => f.endsWith(".txt"));
    expect(CASES.map((c) => c.file).sort()).toEqual(files.sort());
  });

  for (const c of CASES) {
    it(c.file, () => {
      const r = parseToolCalls(fixture(c.file), TOOLS);
      expect(readable(r.calls)).toEqual(c.calls);
      expect(r.text).toBe(c.text);
      for (const call of r.calls) expect(typeof JSON.parse(call.arguments)).toBe("object");
    });
  }
});

describe("parseToolCalls rules", () => {
  const tools: ToolSpec[] = [
    { name: "lookup", description: "", parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"] } },
    { name: "create_user", description: "", parameters: { type: "object", properties: { name: { type: "string" }, age: { type: "integer" } }, required: ["name"] } },
    { name: "now", description: "", parameters: { type: "object", properties: {} } },
  ];
  const call = (name: string, args: object) => ({ name, arguments: JSON.stringify(args) });

  it("returns text unchanged when there is no envelope, and with no tools at all", () => {
    const t = "  Plain answer with <b>tags</b>, {braces} and ```code```.\n";
    expect(parseToolCalls(t, tools)).toEqual({ calls: [], text: t });
    const env = '<tool_calls><tool_call>{"name":"lookup","arguments":{"q":"x"}}</tool_call></tool_calls>';
    expect(parseToolCalls(env, [])).toEqual({ calls: [], text: env });
  });

  it("emits declared tools only, matching names by prefix and case when unambiguous", () => {
    const r = parseToolCalls(
      '<tool_calls><tool_call>{"name":"LOOKUP","arguments":{"q":"a"}}</tool_call><tool_call>{"name":"functions.now","arguments":{}}</tool_call><tool_call>{"name":"delete_all","arguments":{}}</tool_call></tool_calls>',
      tools,
    );
    expect(r.calls).toEqual([call("lookup", { q: "a" }), call("now", {})]);
    expect(r.text).toBe('<tool_call>{"name":"delete_all","arguments":{}}</tool_call>');
  });

  it("leaves a call whose arguments fail the schema as text", () => {
    const env = '<tool_calls>\n<tool_call>{"name":"lookup","arguments":{"query":"missing q"}}</tool_call>\n</tool_calls>';
    const r = parseToolCallsDetailed("Looking. " + env, tools);
    expect(r.calls).toEqual([]);
    expect(r.text).toBe("Looking. " + env);
    const piece = r.pieces.find((p) => p.kind === "envelope");
    expect(piece?.kind === "envelope" && piece.result.rejected[0]?.reason).toBe("lookup: missing required q");
  });

  it("takes the tool name from a name attribute, the object then being the arguments", () => {
    expect(parseToolCalls('<invoke name="create_user">{"name": "Bob", "age": "3"}</invoke>', tools).calls).toEqual([call("create_user", { name: "Bob", age: 3 })]);
    expect(parseToolCalls('<tool_call name="lookup">{"q": "x"}</tool_call>', tools).calls).toEqual([call("lookup", { q: "x" })]);
    expect(parseToolCalls('<function_calls><invoke name="create_user"><parameter name="name">Ann</parameter></invoke></function_calls>', tools).calls).toEqual([call("create_user", { name: "Ann" })]);
    expect(parseToolCalls('<function_calls><invoke name="now"/></function_calls>', tools).calls).toEqual([call("now", {})]);
  });

  it("reads JSON arrays and objects directly inside the wrapper", () => {
    expect(parseToolCalls('<tool_calls>[{"name":"lookup","arguments":{"q":"1"}},{"name":"now","arguments":{}}]</tool_calls>', tools).calls).toEqual([call("lookup", { q: "1" }), call("now", {})]);
    expect(parseToolCalls('<tool_calls>{"tool_calls":[{"name":"now"}]}</tool_calls>', tools).calls).toEqual([call("now", {})]);
  });

  it("reads one call object per line inside the wrapper, and drops a doubled closing tag", () => {
    const r = parseToolCalls('<tool_calls>\n{"name":"lookup","arguments":{"q":"1"}}\n{"name":"now","arguments":{}}\n</tool_calls>\n</tool_calls>\nOk.', tools);
    expect(r.calls).toEqual([call("lookup", { q: "1" }), call("now", {})]);
    expect(r.text).toBe("Ok.");
  });

  it("accepts arguments as a JSON string and a fenced JSON inside an item", () => {
    expect(parseToolCalls('<tool_call>{"name":"lookup","arguments":"{\\"q\\": \\"s\\"}"}</tool_call>', tools).calls).toEqual([call("lookup", { q: "s" })]);
    expect(parseToolCalls('<tool_call>\n```json\n{"name":"lookup","arguments":{"q":"f"}}\n```\n</tool_call>', tools).calls).toEqual([call("lookup", { q: "f" })]);
  });

  it("keeps several envelopes and the prose between them", () => {
    const r = parseToolCalls('First.\n<tool_call>{"name":"now","arguments":{}}</tool_call>\nThen:\n```json\n{"tool_calls":[{"name":"lookup","arguments":{"q":"z"}}]}\n```', tools);
    expect(r.calls).toEqual([call("now", {}), call("lookup", { q: "z" })]);
    expect(r.text).toBe("First.\n\nThen:");
  });

  it("returns only the first call with parallel false", () => {
    const r = parseToolCalls('<tool_calls><tool_call>{"name":"now","arguments":{}}</tool_call><tool_call>{"name":"lookup","arguments":{"q":"1"}}</tool_call></tool_calls>', tools, { parallel: false });
    expect(r.calls).toEqual([call("now", {})]);
  });

  it("refuses a 20 000-level nested argument without overflowing the stack", () => {
    const deep = "[".repeat(20000) + "]".repeat(20000);
    const text = `<tool_call>{"name":"lookup","arguments":{"q":"x","extra":${deep}}}</tool_call>`;
    const r = parseToolCalls(text, tools);
    expect(r.calls).toEqual([]);
    expect(r.text).toBe(text);
    const unbalanced = `<tool_call>{"name":"lookup","arguments":{"q":${"[".repeat(20000)}</tool_call>`;
    expect(parseToolCalls(unbalanced, tools)).toEqual({ calls: [], text: unbalanced });
    // 64 levels are fine.
    const ok = `<tool_call>{"name":"lookup","arguments":{"q":"x","extra":${"[".repeat(62) + "]".repeat(62)}}}</tool_call>`;
    expect(parseToolCalls(ok, tools).calls).toHaveLength(1);
  });

  it("does not take an envelope mentioned in inline code for a call", () => {
    const t = 'Write `<tool_call>{"name":"now","arguments":{}}</tool_call>` to call it.';
    expect(parseToolCalls(t, tools)).toEqual({ calls: [], text: t });
  });
});
