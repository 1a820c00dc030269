import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ProxyError } from "../../src/server/errors.js";
import { flattenMessages } from "../../src/server/protocols/flatten.js";
import { parseResponsesRequest, responsesOptions } from "../../src/server/protocols/responses/parse-request.js";
import { decodeReasoningBlob, encodeReasoningBlob } from "../../src/server/protocols/responses/reasoning-blob.js";
import { parseResponsesTools, responsesToolChoice } from "../../src/server/protocols/responses/tools.js";
import { validateCreateResponse } from "../support/openapi.js";

/** Responses request parsing (api-conformance.md §3.5), including requests Codex CLI really sent. */
type Obj = Record<string, any>;
const fixture = (name: string) => JSON.parse(readFileSync(path.resolve(import.meta.dirname, "..", "fixtures", name), "utf8")) as { body: Obj; headers: Obj };
const base = { model: "grok-chat-fast", input: "hi" };
const param = (body: unknown): string | null => {
  try {
    parseResponsesRequest(body);
  } catch (e) {
    if (e instanceof ProxyError && e.status === 400) return e.param;
    throw e;
  }
  throw new Error("accepted");
};

describe("captured Codex CLI requests are accepted whole", () => {
  it("first turn: developer items, function + namespace + custom + web_search tools, store:false, include encrypted reasoning", () => {
    const { body } = fixture("codex-request.json");
    validateCreateResponse(body); // the capture itself is a valid CreateResponse
    expect(body.store).toBe(false);
    expect(body.include).toEqual(["reasoning.encrypted_content"]);
    const turn = parseResponsesRequest(body);
    const o = responsesOptions(turn);
    expect(turn.stream).toBe(true);
    expect(o.store).toBe(false);
    expect(o.includeEncrypted).toBe(true);
    expect(o.summary === null || typeof o.summary === "string").toBe(true);

    // every developer item is a system message, in place; the user's words come last
    const developers = (body.input as Obj[]).filter((i) => i.role === "developer");
    expect(developers.length).toBeGreaterThan(0);
    expect(turn.messages.filter((m) => m.role === "system")).toHaveLength(developers.length);
    expect(turn.messages.at(-1)).toMatchObject({ role: "user", text: "Say hello." });

    // every function is offered; namespaced ones flat as <ns>__<name>, mapping back
    const ns = (body.tools as Obj[]).find((t) => t.type === "namespace")!;
    for (const t of body.tools as Obj[]) if (t.type === "function") expect(o.wire[t.name]).toEqual({ kind: "function", name: t.name });
    for (const inner of ns.tools as Obj[]) expect(o.wire[`${ns.name}__${inner.name}`]).toEqual({ kind: inner.type, name: inner.name, namespace: ns.name });
    const patch = turn.tools.find((t) => t.name === "apply_patch")!;
    expect(patch.freeform).toBe(true);
    const format = (body.tools as Obj[]).find((t) => t.name === "apply_patch")!.format;
    expect(patch.parameters).toEqual({ type: "grammar", syntax: "lark", definition: format.definition }); // shown as the input format
    expect(patch.parameters.definition).toContain("*** Begin Patch");
    expect(o.wire.apply_patch).toEqual({ kind: "custom", name: "apply_patch" });
    expect(turn.tools.some((t) => t.name.startsWith("web_search"))).toBe(false); // grok.com searches by itself
    expect(o.echo.tools).toHaveLength((body.tools as Obj[]).length);
    expect(o.notes).toEqual([]);
  });

  it("second turn of a tool round: our reasoning item (read back), the function_call and its output", () => {
    const { body } = fixture("codex-request-tool-round.json");
    const reasoning = (body.input as Obj[]).find((i) => i.type === "reasoning")!;
    // Codex resends reasoning items with `content: null`, which the spec does not allow
    // (validateCreateResponse rejects this capture): accepted all the same.
    expect(reasoning.content).toBeNull();
    expect(decodeReasoningBlob(reasoning.encrypted_content)).toMatchObject({ id: reasoning.id });
    const call = (body.input as Obj[]).find((i) => i.type === "function_call")!;
    const turn = parseResponsesRequest(body);
    expect(responsesOptions(turn).notes).toEqual([]); // the blob was ours
    const assistant = turn.messages.find((m) => m.toolCalls?.length)!;
    expect(assistant.toolCalls).toEqual([{ id: call.call_id, name: "exec_command", arguments: call.arguments }]);
    const result = turn.messages.find((m) => m.role === "tool")!;
    expect(result).toMatchObject({ toolCallId: call.call_id, toolName: "exec_command" });
    expect(result.text).toContain("hello from grok");
    const prompt = flattenMessages(turn.messages);
    expect(prompt).not.toContain(reasoning.summary[0].text); // old reasoning is not re-read
  });
});

describe("input", () => {
  it("a string is one user message; instructions come first as system", () => {
    const turn = parseResponsesRequest({ ...base, instructions: "Be brief." });
    expect(turn.messages).toEqual([
      { role: "system", text: "Be brief." },
      { role: "user", text: "hi" },
    ]);
    expect(responsesOptions(turn).input).toEqual([{ type: "message", id: expect.stringMatching(/^msg_/), role: "user", content: [{ type: "input_text", text: "hi" }], status: "completed" }]);
  });

  it("roles, content forms, refusal and output_text; unknown fields ignored", () => {
    const turn = parseResponsesRequest({
      ...base,
      input: [
        { role: "system", content: "sys" },
        { type: "message", role: "developer", content: [{ type: "input_text", text: "dev" }], id: "m1", weird: true },
        { role: "user", content: [{ type: "input_text", text: "a" }, { type: "input_text", text: "b" }] },
        { role: "assistant", content: [{ type: "output_text", text: "c", annotations: [] }, { type: "refusal", refusal: "no" }] },
      ],
    });
    expect(turn.messages).toEqual([
      { role: "system", text: "sys" },
      { role: "system", text: "dev" },
      { role: "user", text: "a\nb" },
      { role: "assistant", text: "c\nno" },
    ]);
    expect(responsesOptions(turn).input[1]).toMatchObject({ id: "m1", weird: true });
  });

  it("images by https and data URL become attachments with markers; file_id is unsupported", () => {
    const turn = parseResponsesRequest({
      ...base,
      input: [{ role: "user", content: [{ type: "input_image", image_url: "https://example.org/a.png" }, { type: "input_image", image_url: "data:image/png;base64,iVBORw0KGgo=" }, { type: "input_text", text: "what?" }] }],
    });
    expect(turn.attachments.map((a) => a.kind)).toEqual(["url", "data"]);
    expect(turn.messages[0]!.text).toBe("[image #1]\n[image #2]\nwhat?");
    expect(param({ ...base, input: [{ role: "user", content: [{ type: "input_image", file_id: "file_1" }] }] })).toBe("input[0].content[0].file_id");
  });

  it("calls join the assistant turn before them; outputs (string or parts) name their tool", () => {
    const turn = parseResponsesRequest({
      ...base,
      input: [
        { role: "user", content: "go" },
        { role: "assistant", content: "calling" },
        { type: "function_call", call_id: "c1", name: "spawn", namespace: "agents", arguments: '{"a":1}' },
        { type: "custom_tool_call", call_id: "c2", name: "apply_patch", input: "*** Begin Patch" },
        { type: "local_shell_call", id: "lsh_1", call_id: "c3", action: { type: "exec", command: ["ls"], working_directory: "/tmp", env: {} }, status: "completed" },
        { type: "function_call_output", call_id: "c1", output: [{ type: "input_text", text: "ok" }, { type: "input_text", text: "!" }] },
        { type: "custom_tool_call_output", call_id: "c2", output: "patched" },
        { type: "local_shell_call_output", id: "x", call_id: "c3", output: "file" },
      ],
    });
    expect(turn.messages[1]).toEqual({
      role: "assistant",
      text: "calling",
      toolCalls: [
        { id: "c1", name: "agents__spawn", arguments: '{"a":1}' },
        { id: "c2", name: "apply_patch", arguments: '{"input":"*** Begin Patch"}' },
        { id: "c3", name: "local_shell", arguments: '{"command":["ls"],"workdir":"/tmp"}' },
      ],
    });
    expect(turn.messages.slice(2)).toEqual([
      { role: "tool", text: "ok\n!", toolCallId: "c1", toolName: "agents__spawn" },
      { role: "tool", text: "patched", toolCallId: "c2", toolName: "apply_patch" },
      { role: "tool", text: "file", toolCallId: "c3", toolName: "local_shell" },
    ]);
  });

  it("reasoning items are dropped; a blob that is not ours is noted, never a 400", () => {
    const ours = encodeReasoningBlob({ id: "rs_ab", text: "old thoughts" });
    const turn = parseResponsesRequest({
      ...base,
      input: [
        { role: "user", content: "q" },
        { type: "reasoning", id: "rs_ab", summary: [{ type: "summary_text", text: "old thoughts" }], encrypted_content: ours },
        { type: "reasoning", id: "rs_x", summary: [], encrypted_content: "gAAAAABfOREIGN-openai-blob" },
        { type: "web_search_call", id: "ws_1", status: "completed", action: { type: "search", query: "x" } },
        { type: "item_reference", id: "msg_1" },
        { role: "user", content: "next" },
      ],
    });
    expect(turn.messages.map((m) => m.text)).toEqual(["q", "next"]);
    expect(responsesOptions(turn).notes).toEqual([
      "input[2]: reasoning encrypted_content not issued by this proxy, ignored",
      "input[3] (web_search_call) skipped",
      "input[4] (item_reference) skipped",
    ]);
  });

  it("history items (previous_response_id) go before the input", () => {
    const turn = parseResponsesRequest({ ...base, input: "second" }, { history: [{ type: "message", role: "user", content: "first" }, { type: "message", role: "assistant", content: [{ type: "output_text", text: "answer" }] }] });
    expect(turn.messages.map((m) => `${m.role}:${m.text}`)).toEqual(["user:first", "assistant:answer", "user:second"]);
    expect(responsesOptions(turn).input).toHaveLength(1);
  });
});

describe("options", () => {
  it("echo, limits, reasoning and include", () => {
    const turn = parseResponsesRequest({ ...base, max_output_tokens: 50, reasoning: { effort: "minimal", summary: "detailed" }, include: ["reasoning.encrypted_content"], store: false, temperature: 0.2, metadata: { a: "b" }, parallel_tool_calls: false });
    const o = responsesOptions(turn);
    expect(turn.maxTokens).toBe(50);
    expect(turn.hideReasoning).toBe(true);
    expect(turn.parallelToolCalls).toBe(false);
    expect(o).toMatchObject({ store: false, summary: "detailed", includeEncrypted: true });
    expect(o.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(o.echo).toMatchObject({ max_output_tokens: 50, temperature: 0.2, top_p: 1, metadata: { a: "b" }, reasoning: { effort: "minimal", summary: "detailed" }, store: false, parallel_tool_calls: false, tool_choice: "auto", tools: [] });
  });

  it("json_schema output is asked for in a closing system message", () => {
    const turn = parseResponsesRequest({ ...base, text: { format: { type: "json_schema", name: "x", schema: { type: "object" } } } });
    expect(turn.messages.at(-1)).toEqual({ role: "system", text: 'Answer with one JSON value only (no prose, no code fences) that matches this JSON Schema (x):\n{"type":"object"}' });
  });

  it.each([
    [{ input: "x" }, "model"],
    [{ model: "m" }, "input"],
    [{ ...base, input: [] }, "input"],
    [{ ...base, input: [{ role: "system", content: "only instructions" }] }, "input"],
    [{ ...base, input: [{}] }, "input[0].type"],
    [{ ...base, input: [{ type: "function_call_output", output: "x" }] }, "input[0].call_id"],
    [{ ...base, input: [{ type: "custom_tool_call", call_id: "c", name: "n", input: 5 }] }, "input[0].input"],
    [{ ...base, input: [{ type: "local_shell_call", call_id: "c", action: { command: "ls" } }] }, "input[0].action.command"],
    [{ ...base, input: [{ type: "function_call", call_id: "c", name: "n", namespace: "bad ns" }] }, "input[0].namespace"],
    [{ ...base, tools: {} }, "tools"],
    [{ ...base, tools: [{ name: "x" }] }, "tools[0].type"],
    [{ ...base, tools: [{ type: "namespace", name: "n", tools: [] }] }, "tools[0].tools"],
    [{ ...base, tools: [{ type: "namespace", name: "n", tools: [{ type: "function", name: "a b" }] }] }, "tools[0].tools[0].name"],
    [{ ...base, tools: [{ type: "function", name: "a" }, { type: "custom", name: "a" }] }, "tools[1].name"],
    [{ ...base, tools: [{ type: "custom", name: "c", format: { type: "grammar" } }] }, "tools[0].format.definition"],
    [{ ...base, truncation: "middle" }, "truncation"],
    [{ ...base, parallel_tool_calls: 1 }, "parallel_tool_calls"],
    [{ ...base, instructions: 5 }, "instructions"],
    [{ ...base, previous_response_id: 5 }, "previous_response_id"],
    [{ ...base, text: { format: { type: "json_schema" } } }, "text.format.schema"],
  ])("rejects %j naming %s", (body, name) => {
    expect(param(body)).toBe(name);
  });
});

describe("tools", () => {
  it("skips tool types it cannot offer and says which", () => {
    const t = parseResponsesTools([{ type: "tool_search", execution: "client" }, { type: "mcp", server_label: "s" }, { type: "web_search_preview" }, { type: "function", name: "f" }]);
    expect(t.specs.map((s) => s.name)).toEqual(["f"]);
    expect(t.webSearch).toBe(true);
    expect(t.skipped).toEqual(["tools[0] (tool_search)", "tools[1] (mcp)"]);
    expect(t.echo).toEqual([{ type: "web_search_preview" }, { type: "function", name: "f", description: null, parameters: null, strict: true }]);
  });

  it("local_shell is offered as a function taking an argv list", () => {
    const t = parseResponsesTools([{ type: "local_shell" }]);
    expect(t.specs[0]).toMatchObject({ name: "local_shell", parameters: { required: ["command"], properties: { command: { type: "array" } } } });
    expect(t.wire.local_shell).toEqual({ kind: "local_shell" });
  });

  it("tool_choice forms: named (bare namespaced names resolve when unambiguous), allowed_tools, hosted", () => {
    const t = parseResponsesTools([{ type: "namespace", name: "ns", description: "", tools: [{ type: "function", name: "fn" }] }, { type: "custom", name: "patch" }]);
    expect(responsesToolChoice({ type: "function", name: "fn" }, t)).toEqual({ type: "tool", name: "ns__fn" });
    expect(responsesToolChoice({ type: "custom", name: "patch" }, t)).toEqual({ type: "tool", name: "patch" });
    expect(responsesToolChoice({ type: "allowed_tools", mode: "required", tools: [] }, t)).toEqual({ type: "required" });
    expect(responsesToolChoice({ type: "web_search_preview" }, t)).toEqual({ type: "auto" });
    expect(responsesToolChoice("none", t)).toEqual({ type: "none" });
    expect(() => responsesToolChoice({ type: "bogus" }, t)).toThrow(/tool_choice/);
  });
});

describe("reasoning blobs", () => {
  it("round-trip, and anything else is not ours", () => {
    const b = encodeReasoningBlob({ id: "rs_0123abcd", text: "thinking…" });
    expect(decodeReasoningBlob(b)).toEqual({ id: "rs_0123abcd", text: "thinking…" });
    expect(decodeReasoningBlob("not base64 !")).toBeNull();
    expect(decodeReasoningBlob(Buffer.from("[1,2]").toString("base64"))).toBeNull();
    expect(decodeReasoningBlob(Buffer.from('{"g2a":2,"id":"rs_1","text":"x"}').toString("base64"))).toBeNull();
    expect(decodeReasoningBlob(Buffer.from('{"g2a":1,"id":"<script>","text":"x"}').toString("base64"))).toBeNull();
    expect(decodeReasoningBlob(Buffer.from('{"g2a":1,"id":"rs_1","text":7}').toString("base64"))).toBeNull();
    expect(decodeReasoningBlob("A".repeat(2 * 1024 * 1024))).toBeNull();
    expect(decodeReasoningBlob(null)).toBeNull();
  });
});
