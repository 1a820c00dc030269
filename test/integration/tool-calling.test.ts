import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openapiValidator } from "../support/openapi.js";
import { startStack, type Stack } from "../support/stack.js";

/**
 * Emulated tool calling through the real server (docs/tool-calling.md): the fake grok.com plays
 * the model and answers in the envelope the prompt asked for (or a drifted form); clients see
 * only their protocol's tool-call shapes.
 */
const chunkSchema = openapiValidator("CreateChatCompletionStreamResponse");
const responseSchema = openapiValidator("CreateChatCompletionResponse");

let stack: Stack;
let anthropic: Anthropic;
beforeAll(async () => {
  stack = await startStack({ accounts: ["super"] });
  anthropic = new Anthropic({ baseURL: stack.url, apiKey: "k", maxRetries: 0, timeout: 20_000 });
});
afterAll(async () => stack?.close());
beforeEach(() => stack.fake.reset());

const weather = { type: "function" as const, function: { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };
const envelope = (...calls: Array<{ name: string; arguments: unknown }>) => `<tool_calls>\n${calls.map((c) => `<tool_call>${JSON.stringify(c)}</tool_call>`).join("\n")}\n</tool_calls>`;
const user = (content: string) => [{ role: "user" as const, content }];

/** The model: calls get_weather until a tool result is in the prompt, then answers. */
function weatherModel(prompts: string[] = []) {
  return (p: string) => {
    prompts.push(p);
    if (/\[tool (result|error) for (call_|toolu_)/.test(p)) return "It is sunny in Paris.";
    return `Let me check.\n${envelope({ name: "get_weather", arguments: { city: "Paris" } })}`;
  };
}

describe("OpenAI chat tools", () => {
  it("non-stream: tool_calls with call_ ids and parseable arguments, finish tool_calls, no markup", async () => {
    stack.fake.respond(weatherModel());
    const r = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: user("Weather in Paris?"), tools: [weather] });
    responseSchema(r);
    const choice = r.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBe("Let me check.");
    expect(choice.message.tool_calls).toHaveLength(1);
    const call = choice.message.tool_calls![0] as { id: string; type: string; function: { name: string; arguments: string } };
    expect(call.id).toMatch(/^call_/);
    expect(call.function.name).toBe("get_weather");
    expect(JSON.parse(call.function.arguments)).toEqual({ city: "Paris" });
  });

  it("stream: text first, then id+name, then arguments, finish tool_calls; the SDK accumulates it", async () => {
    stack.fake.respond(weatherModel());
    const stream = stack.openai.chat.completions.stream({ model: "grok-chat-fast", messages: user("Weather in Paris?"), tools: [weather] });
    const chunks: any[] = [];
    stream.on("chunk", (c) => chunks.push(c));
    const final = await stream.finalChatCompletion();
    chunks.forEach(chunkSchema);
    const deltas = chunks.map((c) => c.choices[0]).filter(Boolean);
    const content = deltas.map((d) => d.delta.content ?? "").join("");
    expect(content).toBe("Let me check.");
    expect(content).not.toContain("<");
    const tc = deltas.filter((d) => d.delta.tool_calls).map((d) => d.delta.tool_calls[0]);
    expect(tc[0]).toEqual({ index: 0, id: expect.stringMatching(/^call_/), type: "function", function: { name: "get_weather", arguments: "" } });
    expect(tc.slice(1).every((t) => t.id === undefined && t.index === 0)).toBe(true);
    expect(JSON.parse(tc.map((t) => t.function.arguments).join(""))).toEqual({ city: "Paris" });
    expect(deltas.at(-1).finish_reason).toBe("tool_calls");
    expect(final.choices[0]!.message.tool_calls![0]).toMatchObject({ type: "function", function: { name: "get_weather" } });
  });

  it("round trip: the tool message goes back into the prompt and the model answers", async () => {
    const prompts: string[] = [];
    stack.fake.respond(weatherModel(prompts));
    const first = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: user("Weather in Paris?"), tools: [weather] });
    const call = first.choices[0]!.message.tool_calls![0]!;
    const second = await stack.openai.chat.completions.create({
      model: "grok-chat-fast",
      tools: [weather],
      messages: [...user("Weather in Paris?"), first.choices[0]!.message, { role: "tool", tool_call_id: call.id, content: '{"sky":"sunny","temp_c":21}' }],
    });
    expect(second.choices[0]!.finish_reason).toBe("stop");
    expect(second.choices[0]!.message.content).toBe("It is sunny in Paris.");
    const p = prompts.at(-1)!;
    expect(p).toContain(`[tool result for ${call.id} (get_weather)]`);
    expect(p).toContain('{"sky":"sunny","temp_c":21}');
    expect(p).toContain('<tool_call>{"name":"get_weather","arguments":{"city":"Paris"}}</tool_call>');
  });

  it.each([
    ["XML with name/parameters children", '<tool_calls><tool_call><tool_name>get_weather</tool_name><parameters>{"city":"Paris"}</parameters></tool_call></tool_calls>'],
    ["function_calls / invoke", '<function_calls>\n<invoke name="get_weather">\n<parameter name="city">Paris</parameter>\n</invoke>\n</function_calls>'],
    ["fenced JSON", 'Sure.\n```json\n{"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}}]}\n```'],
    ["broken JSON (trailing comma)", '<tool_calls>\n<tool_call>{"name":"get_weather","arguments":{"city":"Paris",}}</tool_call>\n</tool_calls>'],
  ])("drifted envelope: %s becomes a clean call", async (_name, answer) => {
    stack.fake.respond(() => answer);
    const stream = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: user("Weather?"), tools: [weather], stream: true });
    let content = "";
    let args = "";
    let finish: string | null = null;
    for await (const c of stream) {
      const ch = c.choices[0];
      if (!ch) continue;
      content += ch.delta.content ?? "";
      for (const t of ch.delta.tool_calls ?? []) args += t.function?.arguments ?? "";
      finish = ch.finish_reason ?? finish;
    }
    expect(finish).toBe("tool_calls");
    expect(JSON.parse(args)).toEqual({ city: "Paris" });
    expect(content).not.toMatch(/tool_call|invoke|```/);
  });

  it("an undeclared tool name stays text; tool_choice none sends no tool instructions", async () => {
    const prompts: string[] = [];
    stack.fake.respond((p) => {
      prompts.push(p);
      return envelope({ name: "rm_rf", arguments: {} });
    });
    const r = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: user("Hi"), tools: [weather] });
    expect(r.choices[0]!.finish_reason).toBe("stop");
    expect(r.choices[0]!.message.tool_calls).toBeUndefined();
    expect(r.choices[0]!.message.content).toContain("rm_rf");
    await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: user("Hi"), tools: [weather], tool_choice: "none" });
    expect(prompts.at(-1)).not.toContain("## get_weather");
  });

  it.each([
    ["tools not an array", { tools: { a: 1 } }, "tools"],
    ["tool without function", { tools: [{ type: "function" }] }, "tools[0].function"],
    ["bad tool name", { tools: [{ type: "function", function: { name: "has space" } }] }, "tools[0].function.name"],
    ["tool_choice naming an unknown tool", { tools: [weather], tool_choice: { type: "function", function: { name: "nope" } } }, "tool_choice"],
    ["bad tool_choice", { tools: [weather], tool_choice: "sometimes" }, "tool_choice"],
    [
      "20 000-level nested arguments in history",
      { tools: [weather], messages: [...user("x"), { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: "[".repeat(20_000) + "]".repeat(20_000) } }] }, { role: "tool", tool_call_id: "call_1", content: "ok" }] },
      "messages[1].tool_calls[0].function.arguments",
    ],
  ])("%s → 400 naming %s, nothing sent upstream", async (_n, extra, param) => {
    const before = stack.fake.chatRequests().length;
    const res = await fetch(`${stack.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "grok-chat-fast", messages: user("x"), ...extra }) });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { param: string } };
    expect(body.error.param).toBe(param);
    expect(stack.fake.chatRequests().length).toBe(before);
  });

  it("the runaway guard ends a stream repeating one delta", async () => {
    stack.fake.queue("*", { name: "text", text: "x ".repeat(400).trim() });
    const res = await fetch(`${stack.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "grok-chat-fast", messages: user("loop"), stream: true }) });
    const text = await res.text();
    expect(text).toMatch(/runaway/);
    expect(text).not.toContain("[DONE]");
  });
});

describe("Anthropic tools", () => {
  const readTool = { name: "get_weather", description: "Weather for a city", input_schema: { type: "object" as const, properties: { city: { type: "string" } }, required: ["city"] } };

  it("stream: text block, then a tool_use block with toolu_ id and input_json_delta, stop_reason tool_use", async () => {
    stack.fake.respond(weatherModel());
    const events: any[] = [];
    const stream = anthropic.messages.stream({ model: "grok-chat-fast", max_tokens: 512, messages: [{ role: "user", content: "Weather?" }], tools: [readTool] });
    stream.on("streamEvent", (e) => events.push(e));
    const final = await stream.finalMessage();
    const names = events.map((e) => `${e.type}${e.index !== undefined ? `:${e.index}` : ""}${e.content_block ? `:${e.content_block.type}` : ""}${e.delta?.type ? `:${e.delta.type}` : ""}`);
    expect(names.filter((n, i) => n !== names[i - 1])).toEqual([ // runs of text deltas folded
      "message_start",
      "content_block_start:0:text",
      "content_block_delta:0:text_delta",
      "content_block_stop:0",
      "content_block_start:1:tool_use",
      "content_block_delta:1:input_json_delta",
      "content_block_stop:1",
      "message_delta",
      "message_stop",
    ]);
    expect(final.stop_reason).toBe("tool_use");
    const use = final.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock;
    expect(use.id).toMatch(/^toolu_/);
    expect(use.input).toEqual({ city: "Paris" });
  });

  it("round trip: tool_result blocks (errors too) go back readably; the answer ends the turn", async () => {
    const prompts: string[] = [];
    stack.fake.respond(weatherModel(prompts));
    const first = await anthropic.messages.create({ model: "grok-chat-fast", max_tokens: 512, messages: [{ role: "user", content: "Weather?" }], tools: [readTool] });
    const use = first.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock;
    const second = await anthropic.messages.create({
      model: "grok-chat-fast",
      max_tokens: 512,
      tools: [readTool],
      messages: [
        { role: "user", content: "Weather?" },
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "service down", is_error: true }] },
      ],
    });
    expect(second.stop_reason).toBe("end_turn");
    expect(second.content).toEqual([{ type: "text", text: "It is sunny in Paris.", citations: null }]);
    expect(prompts.at(-1)).toContain(`[tool error for ${use.id} (get_weather)]`);
    expect(prompts.at(-1)).toContain("service down");
  });

  it("tool_choice any with disable_parallel_tool_use keeps one call", async () => {
    stack.fake.respond(() => envelope({ name: "get_weather", arguments: { city: "Paris" } }, { name: "get_weather", arguments: { city: "Rome" } }));
    const msg = await anthropic.messages.create({ model: "grok-chat-fast", max_tokens: 512, messages: [{ role: "user", content: "Weather?" }], tools: [readTool], tool_choice: { type: "any", disable_parallel_tool_use: true } });
    expect(msg.content.filter((b) => b.type === "tool_use")).toHaveLength(1);
    expect(msg.stop_reason).toBe("tool_use");
  });
});
