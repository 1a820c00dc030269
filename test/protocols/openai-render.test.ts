import { describe, expect, it } from "vitest";
import type { TurnSummary } from "../../src/server/protocols/adapter.js";
import { estimateTokens } from "../../src/server/protocols/estimate-tokens.js";
import { OpenAIChunkWriter, renderCompletion, renderOpenAIError } from "../../src/server/protocols/openai/render.js";
import { OutputShaper } from "../../src/server/protocols/shape-output.js";
import { ProxyError } from "../../src/server/errors.js";
import { openapiValidator } from "../support/openapi.js";

const chunkSchema = openapiValidator("CreateChatCompletionStreamResponse");
const responseSchema = openapiValidator("CreateChatCompletionResponse");
const errorSchema = openapiValidator("ErrorResponse");

/** What the runner's TurnOutput hands the renderer, built from a shaper. */
const summaryOf = (prompt: string, sh: OutputShaper, extra: Partial<TurnSummary> = {}): TurnSummary => ({
  text: sh.text,
  reasoning: sh.reasoning,
  citations: sh.citations,
  sources: sh.sources,
  toolCalls: [],
  finish: sh.finish ?? "stop",
  stopSequence: sh.stopSequence,
  usage: { inputTokens: estimateTokens(prompt), outputTokens: estimateTokens(sh.text + sh.reasoning + sh.droppedReasoning), reasoningTokens: estimateTokens(sh.reasoning + sh.droppedReasoning) },
  ...extra,
});

const shaper = (opts: Partial<ConstructorParameters<typeof OutputShaper>[0]> = {}) => new OutputShaper({ stop: [], maxTokens: null, inlineCitations: true, showSources: false, ...opts });

describe("OpenAI stream rendering", () => {
  it("role first, reasoning before content, one finish chunk, usage chunk last — all schema-valid", () => {
    const sh = shaper();
    const w = new OpenAIChunkWriter("grok-chat-fast", "reasoning_content", true);
    const chunks = [
      ...w.ops(sh.push({ type: "reasoning", text: "think", header: false })),
      ...w.ops(sh.push({ type: "text", text: "Hi" })),
      ...w.ops(sh.end()),
      ...w.finish(summaryOf("prompt", sh)),
    ];
    chunks.forEach(chunkSchema);
    const choices = chunks.map((c) => (c.choices as any[])[0]);
    expect(choices[0].delta).toEqual({ role: "assistant", content: "" });
    expect(choices[1].delta).toEqual({ reasoning_content: "think" });
    expect(choices[2].delta).toEqual({ content: "Hi" });
    expect(choices[3]).toMatchObject({ delta: {}, finish_reason: "stop" });
    expect(chunks[4]!.choices).toEqual([]);
    expect(chunks.slice(0, 4).every((c) => c.usage === null)).toBe(true);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it("think-tags puts tags in chunks of their own", () => {
    const sh = shaper();
    const w = new OpenAIChunkWriter("m", "think-tags", false);
    const contents = [...w.ops(sh.push({ type: "reasoning", text: "a", header: false })), ...w.ops(sh.push({ type: "text", text: "b" })), ...w.finish(summaryOf("", sh))]
      .map((c) => (c.choices as any[])[0].delta.content)
      .filter((x) => x !== undefined);
    expect(contents).toEqual(["", "<think>\n", "a", "\n</think>\n\n", "b"]);
  });

  it("hidden reasoning is dropped but counted", () => {
    const sh = shaper();
    const w = new OpenAIChunkWriter("m", "hidden", false);
    const out = [...w.ops(sh.push({ type: "reasoning", text: "secret thoughts", header: false })), ...w.ops(sh.push({ type: "text", text: "ok" }))];
    expect(JSON.stringify(out)).not.toContain("secret");
    expect(summaryOf("", sh).usage.reasoningTokens).toBeGreaterThan(0);
  });
});

describe("OutputShaper", () => {
  it("cuts at a stop sequence split across deltas and reports stop", () => {
    const sh = shaper({ stop: ["END"] });
    const text = [..."abcEN", ..."Dxyz"].flatMap((c) => sh.push({ type: "text", text: c }));
    expect(text.map((o) => (o.kind === "text" ? o.text : "")).join("")).toBe("abc");
    expect(sh.finish).toBe("stop_sequence");
    expect(sh.stopSequence).toBe("END");
    expect(sh.done).toBe(true);
  });

  it("truncates at the token limit and reports length", () => {
    const sh = shaper({ maxTokens: 2 });
    sh.push({ type: "text", text: "one two three four five" });
    expect(sh.text).toBe("one two ");
    expect(sh.finish).toBe("length");
  });

  it("numbers citations per URL with annotations pointing at the marker", () => {
    const sh = shaper();
    sh.push({ type: "text", text: "A" });
    sh.push({ type: "citation", url: "https://x.org/1", title: null });
    sh.push({ type: "text", text: " B" });
    sh.push({ type: "citation", url: "https://x.org/1", title: null });
    expect(sh.text).toBe("A [[1]](https://x.org/1) B [[1]](https://x.org/1)");
    const c = sh.citations[0]!;
    expect(sh.text.slice(c.start, c.end)).toBe(" [[1]](https://x.org/1)");
  });

  it("appends a sources list when enabled", () => {
    const sh = shaper({ showSources: true, inlineCitations: false });
    sh.push({ type: "sources", toolId: null, sources: [{ url: "https://a.b", title: "AB", snippet: null }] });
    sh.push({ type: "text", text: "x" });
    sh.end();
    expect(sh.text).toBe("x\n\nSources:\n1. [AB](https://a.b)");
  });
});

describe("OpenAI non-stream and errors", () => {
  it("renders a schema-valid completion with logprobs null and reasoning_content", () => {
    const sh = shaper();
    sh.push({ type: "reasoning", text: "r", header: false });
    sh.push({ type: "text", text: "Hello!" });
    const body = renderCompletion("grok-chat-fast", summaryOf("hi", sh), "reasoning_content");
    responseSchema(body);
    expect((body.choices as any[])[0]).toEqual({ index: 0, message: { role: "assistant", content: "Hello!", refusal: null, reasoning_content: "r" }, logprobs: null, finish_reason: "stop" });
    const u = body.usage as any;
    expect(u.total_tokens).toBe(u.prompt_tokens + u.completion_tokens);
  });

  it("renders tool calls: content null, call_ ids, finish tool_calls; stream: id and name first, then arguments", () => {
    const calls = [{ name: "get_weather", arguments: '{"city":"Paris"}' }];
    const body = renderCompletion("m", summaryOf("hi", shaper(), { toolCalls: calls, finish: "tool_calls" }), "reasoning_content");
    responseSchema(body);
    const choice = (body.choices as any[])[0];
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([{ id: expect.stringMatching(/^call_/), type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }]);
    const w = new OpenAIChunkWriter("m", "reasoning_content", false);
    const chunks = [...w.ops([{ kind: "tool_call", call: calls[0]! }]), ...w.finish(summaryOf("", shaper(), { toolCalls: calls, finish: "tool_calls" }))];
    chunks.forEach(chunkSchema);
    const deltas = chunks.map((c) => (c.choices as any[])[0]);
    expect(deltas[1].delta.tool_calls[0]).toEqual({ index: 0, id: expect.stringMatching(/^call_/), type: "function", function: { name: "get_weather", arguments: "" } });
    expect(deltas[2].delta.tool_calls[0]).toEqual({ index: 0, function: { arguments: '{"city":"Paris"}' } });
    expect(deltas[3].finish_reason).toBe("tool_calls");
  });

  it("renders errors with all four keys", () => {
    const e = renderOpenAIError(new ProxyError(404, "model_not_found", "no such model", { param: "model" }));
    errorSchema(e);
    expect(e).toEqual({ error: { message: "no such model", type: "invalid_request_error", param: "model", code: "model_not_found" } });
  });
});
