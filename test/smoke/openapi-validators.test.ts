import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openapiValidator, responsesEventComponents, validateCreateResponse, validateResponse, validateResponsesEvent, VENDORED_SPEC } from "../support/openapi.js";

/** A minimal well-formed Response object, written by hand from the spec's required fields. */
function response(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "resp_1",
    object: "response",
    created_at: 1_790_000_000,
    status: "completed",
    completed_at: 1_790_000_001,
    error: null,
    incomplete_details: null,
    instructions: null,
    model: "grok-4.1",
    tools: [],
    tool_choice: "auto",
    parallel_tool_calls: true,
    metadata: {},
    temperature: null,
    top_p: null,
    output: [
      { type: "message", id: "msg_1", role: "assistant", status: "completed", content: [{ type: "output_text", text: "Hi", annotations: [], logprobs: [] }] },
      { type: "function_call", id: "fc_1", call_id: "call_1", name: "exec_command", arguments: '{"cmd":"ls"}', status: "completed" },
    ],
    usage: { input_tokens: 3, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 5 },
    ...over,
  };
}

describe("vendored OpenAI spec", () => {
  it("is the subset file with its provenance and every root schema", () => {
    const spec = JSON.parse(readFileSync(VENDORED_SPEC, "utf8"));
    expect(spec["x-vendored"].source).toContain("f85dbe22");
    for (const root of spec["x-vendored"].roots) expect(spec.components.schemas[root], root).toBeDefined();
  });

  it("compiles every root schema (no dangling $ref)", () => {
    for (const c of ["CreateChatCompletionResponse", "CreateChatCompletionStreamResponse", "CompletionUsage", "ListModelsResponse", "Model", "ErrorResponse", "Response", "ResponseStreamEvent", "CreateResponse"]) {
      expect(() => openapiValidator(c), c).not.toThrow();
    }
  });

  it("names an unknown component clearly", () => {
    expect(() => openapiValidator("NoSuchSchema")).toThrow(/NoSuchSchema is not in/);
  });
});

describe("Responses API validators", () => {
  it("maps every ResponseStreamEvent variant by its type", () => {
    const m = responsesEventComponents();
    expect(m.size).toBeGreaterThanOrEqual(50);
    expect(m.get("response.output_text.delta")).toBe("ResponseTextDeltaEvent");
    expect(m.get("response.completed")).toBe("ResponseCompletedEvent");
  });

  it("accepts a well-formed Response and stream", () => {
    expect(() => validateResponse(response())).not.toThrow();
    const events = [
      { type: "response.created", sequence_number: 0, response: response({ status: "in_progress", completed_at: null, output: [], usage: undefined }) },
      { type: "response.output_item.added", sequence_number: 1, output_index: 0, item: { type: "message", id: "msg_1", role: "assistant", status: "in_progress", content: [] } },
      { type: "response.content_part.added", sequence_number: 2, item_id: "msg_1", output_index: 0, content_index: 0, part: { type: "output_text", text: "", annotations: [], logprobs: [] } },
      { type: "response.output_text.delta", sequence_number: 3, item_id: "msg_1", output_index: 0, content_index: 0, delta: "Hi", logprobs: [] },
      { type: "response.output_text.done", sequence_number: 4, item_id: "msg_1", output_index: 0, content_index: 0, text: "Hi", logprobs: [] },
      { type: "response.function_call_arguments.delta", sequence_number: 5, item_id: "fc_1", output_index: 1, delta: '{"cmd":' },
      { type: "response.function_call_arguments.done", sequence_number: 6, item_id: "fc_1", output_index: 1, name: "exec_command", arguments: '{"cmd":"ls"}' },
      { type: "response.completed", sequence_number: 7, response: response() },
    ];
    for (const ev of events) expect(() => validateResponsesEvent(ev), ev.type).not.toThrow();
  });

  it("rejects malformed events", () => {
    const delta = { type: "response.output_text.delta", sequence_number: 3, item_id: "msg_1", output_index: 0, content_index: 0, delta: "Hi", logprobs: [] };
    const { delta: _omit, ...noDelta } = delta;
    expect(() => validateResponsesEvent(noDelta)).toThrow(/ResponseTextDeltaEvent schema violation.*delta/);
    expect(() => validateResponsesEvent({ ...delta, sequence_number: "3" })).toThrow(/sequence_number/);
    expect(() => validateResponsesEvent({ ...delta, type: "response.output_text.delt" })).toThrow(/unknown event type/);
    expect(() => validateResponsesEvent({ delta: "Hi" })).toThrow(/unknown event type/);
    expect(() => validateResponsesEvent(null)).toThrow(/unknown event type/);
    // A completed event whose response lacks created_at: the nested Response is checked too.
    const { created_at: _c, ...noCreated } = response();
    expect(() => validateResponsesEvent({ type: "response.completed", sequence_number: 7, response: noCreated })).toThrow(/created_at/);
  });

  it("rejects malformed Response objects", () => {
    const { created_at: _c, ...noCreated } = response();
    expect(() => validateResponse(noCreated)).toThrow(/created_at/);
    expect(() => validateResponse(response({ status: "done" }))).toThrow(/Response schema violation/);
    expect(() => validateResponse(response({ object: "chat.completion" }))).toThrow(/Response schema violation/);
    expect(() => validateResponse(response({ output: [{ type: "function_call", id: "fc_1", name: "x", arguments: "{}" }] }))).toThrow(/Response schema violation/);
  });

  it("checks request fixtures against CreateResponse", () => {
    expect(() =>
      validateCreateResponse({
        model: "grok-4.1",
        stream: true,
        store: false,
        // What Codex resends every turn (store:false): messages, reasoning, a call and its output.
        input: [
          { type: "message", id: "m0", role: "developer", content: [{ type: "input_text", text: "be brief" }] },
          { type: "message", id: "m1", role: "user", content: [{ type: "input_text", text: "list files" }] },
          { type: "reasoning", id: "rs_1", summary: [], encrypted_content: "opaque" },
          { type: "function_call", call_id: "call_1", name: "exec_command", arguments: '{"cmd":"ls"}' },
          { type: "function_call_output", call_id: "call_1", output: "a.txt" },
          { role: "user", content: "thanks" },
        ],
        tools: [{ type: "function", name: "exec_command", description: "run", parameters: { type: "object", properties: { cmd: { type: "string" } } }, strict: false }],
        tool_choice: "auto",
        reasoning: { summary: "auto" },
        include: ["reasoning.encrypted_content"],
      }),
    ).not.toThrow();
    expect(() => validateCreateResponse({ model: "grok-4.1", input: 5 })).toThrow(/CreateResponse schema violation/);
  });
});
