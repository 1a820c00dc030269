import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ToolSpec } from "../../../src/server/core/turn.js";
import { parseToolCalls } from "../../../src/server/protocols/tools/parse.js";
import { choiceRule, compactSchema, renderToolCalls, toolInstructions, toolReminder, toolResultHeader } from "../../../src/server/protocols/tools/prompt.js";
import { DOC_TOOLS } from "./fixtures.js";

const doc = readFileSync(fileURLToPath(new URL("../../../docs/tool-calling.md", import.meta.url)), "utf8");

/** The fenced block after the marker comment `<!-- generated: name -->` in the doc. */
function quoted(name: string): string {
  const m = new RegExp(`<!-- generated: ${name} -->\\n\`\`\`text\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(doc);
  if (!m) throw new Error(`docs/tool-calling.md has no block "${name}"`);
  return m[1]!;
}

describe("docs/tool-calling.md quotes the code's text", () => {
  it("the instruction block", () => expect(quoted("instructions")).toBe(toolInstructions(DOC_TOOLS, { type: "auto" }, true)));
  it("the tool_choice and parallel rules", () => {
    expect(quoted("choice-rules")).toBe(
      [
        `auto:      ${choiceRule({ type: "auto" })}`,
        `required:  ${choiceRule({ type: "required" })}`,
        `tool X:    ${choiceRule({ type: "tool", name: "X" })}`,
        `none:      ${choiceRule({ type: "none" })}`,
        `parallel false: ${toolInstructions(DOC_TOOLS, { type: "auto" }, false).split("\n").at(-2)}`,
      ].join("\n"),
    );
  });
  it("the reminder", () => expect(quoted("reminder")).toBe(toolReminder({ type: "auto" }, true)));
  it("a history round", () =>
    expect(quoted("history")).toBe(
      `[assistant]\nLet me check.\n${renderToolCalls([{ name: "get_weather", arguments: '{"city":"Paris"}' }])}\n\n${toolResultHeader("call_1", "get_weather", false)}\n{"sky":"sunny"}\n\n${toolResultHeader("toolu_2", "get_weather", true)}\nservice down`,
    ));
});

describe("toolInstructions", () => {
  const tools: ToolSpec[] = [
    ...DOC_TOOLS,
    { name: "apply_patch", description: "Apply a patch.", parameters: { type: "grammar", syntax: "lark", definition: "start: …" }, freeform: true },
    { name: "noop", description: "", parameters: {} },
  ];

  it("lists every tool with its description and compact schema, without $schema", () => {
    const t = toolInstructions(tools, { type: "auto" }, true);
    expect(t).toContain('## get_weather\nCurrent weather for a city.\nParameters (JSON Schema): {"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}');
    expect(t).not.toContain("$schema");
    expect(t).toContain('## noop\nParameters (JSON Schema): {"type":"object","properties":{}}');
  });

  it("describes a freeform tool as taking one string, input", () => {
    const t = toolInstructions(tools, { type: "auto" }, true);
    expect(compactSchema(tools[1]!)).toBe('{"type":"object","properties":{"input":{"type":"string","description":"The whole input for this tool, as one string."}},"required":["input"]}');
    expect(t).toContain(`## apply_patch\nApply a patch.\nParameters (JSON Schema): ${compactSchema(tools[1]!)}\nThis tool takes one string: put all of its input into "input".\nInput format: {"type":"grammar","syntax":"lark","definition":"start: …"}`);
  });

  it("states the envelope and the rules", () => {
    const t = toolInstructions(tools, { type: "auto" }, true);
    expect(t).toContain('<tool_calls>\n<tool_call>{"name": "TOOL_NAME", "arguments": {"PARAMETER": "VALUE"}}</tool_call>\n</tool_calls>');
    expect(t).toContain("Write nothing after </tool_calls>");
    expect(t).toContain("one <tool_call> element per call");
    expect(t.split("\n").at(-1)).toBe(`- ${choiceRule({ type: "auto" })}`);
  });

  it("follows tool_choice and parallel", () => {
    expect(toolInstructions(tools, { type: "required" }, true)).toContain("- You must call a tool in this answer");
    expect(toolInstructions(tools, { type: "tool", name: "get_weather" }, true)).toContain('- You must call the tool "get_weather" in this answer');
    const single = toolInstructions(tools, { type: "auto" }, false);
    expect(single).toContain("- Call at most one tool per answer: the block holds exactly one <tool_call> element.");
    expect(single).not.toContain("one <tool_call> element per call");
    expect(toolInstructions(tools, { type: "none" }, true)).toBe(choiceRule({ type: "none" }));
    expect(toolReminder({ type: "tool", name: "X" }, false)).toContain("(at most one)");
    expect(toolReminder({ type: "tool", name: "X" }, false)).toContain('You must call the tool "X"');
  });

  it("the example in the instructions is itself a parseable envelope", () => {
    const example = /<tool_calls>[\s\S]*?<\/tool_calls>/.exec(toolInstructions(tools, { type: "auto" }, true))![0];
    const r = parseToolCalls(example, [{ name: "TOOL_NAME", description: "", parameters: {} }]);
    expect(r.calls).toEqual([{ name: "TOOL_NAME", arguments: '{"PARAMETER":"VALUE"}' }]);
  });
});

describe("renderToolCalls", () => {
  const tools: ToolSpec[] = [
    { name: "lookup", description: "", parameters: { type: "object", properties: { q: { type: "string" } } } },
    { name: "now", description: "", parameters: {} },
  ];

  it("writes the envelope with compact JSON, one call per line", () => {
    expect(renderToolCalls([{ name: "lookup", arguments: '{ "q" : "a" }' }, { name: "now", arguments: "" }])).toBe(
      '<tool_calls>\n<tool_call>{"name":"lookup","arguments":{"q":"a"}}</tool_call>\n<tool_call>{"name":"now","arguments":{}}</tool_call>\n</tool_calls>',
    );
  });

  it("escapes a closing tag inside an argument and keeps non-JSON arguments as a string", () => {
    const out = renderToolCalls([{ name: "lookup", arguments: '{"q":"x </tool_call> y </tool_calls>"}' }]);
    expect(out).toBe('<tool_calls>\n<tool_call>{"name":"lookup","arguments":{"q":"x <\\/tool_call> y <\\/tool_calls>"}}</tool_call>\n</tool_calls>');
    expect(renderToolCalls([{ name: "lookup", arguments: "not json" }])).toContain('"arguments":"not json"');
    const deep = "[".repeat(20_000) + "]".repeat(20_000);
    expect(renderToolCalls([{ name: "lookup", arguments: deep }])).toContain(`"arguments":"${"[".repeat(100)}`);
  });

  it("is read back by the parser exactly, whatever the arguments contain", () => {
    const calls = [
      { name: "lookup", arguments: JSON.stringify({ q: "line 1\nline 2 </tool_call> </tool_calls> \"quoted\" 中文 ```fence``` <invoke name=\"x\">" }) },
      { name: "now", arguments: "{}" },
    ];
    expect(parseToolCalls(renderToolCalls(calls), tools).calls).toEqual(calls);
  });

  it("names result blocks by call id and tool, and marks errors", () => {
    expect(toolResultHeader("call_1", "Read", false)).toBe("[tool result for call_1 (Read)]");
    expect(toolResultHeader("toolu_1", "Bash", true)).toBe("[tool error for toolu_1 (Bash)]");
    expect(toolResultHeader("call_2", undefined, undefined)).toBe("[tool result for call_2]");
    expect(toolResultHeader(undefined, undefined, false)).toBe("[tool result]");
  });
});
