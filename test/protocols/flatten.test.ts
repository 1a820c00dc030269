import { describe, expect, it } from "vitest";
import { flattenMessages } from "../../src/server/protocols/flatten.js";
import { parseOpenAIChatRequest } from "../../src/server/protocols/openai/parse-request.js";
import { ProxyError } from "../../src/server/errors.js";

describe("flattenMessages", () => {
  it("sends a lone user message unchanged", () => {
    expect(flattenMessages([{ role: "user", text: "  Say hi " }])).toBe("Say hi");
  });

  it("keeps roles and order, labels system prompts, strips old reasoning", () => {
    const out = flattenMessages([
      { role: "system", text: "You are terse." },
      { role: "user", text: "Hi" },
      { role: "assistant", text: "<think>hmm</think>Hello!" },
      { role: "user", text: "What now?" },
    ]);
    expect(out).toBe("[system]\nYou are terse.\n\n[user]\nHi\n\n[assistant]\nHello!\n\n[user]\nWhat now?");
  });

  it("renders tool calls and tool results", () => {
    const out = flattenMessages([
      { role: "user", text: "Weather?" },
      { role: "assistant", text: "", toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }] },
      { role: "tool", text: "sunny", toolCallId: "call_1" },
    ]);
    expect(out).toBe('[user]\nWeather?\n\n[assistant]\n<tool_calls>\n<tool_call>{"name":"get_weather","arguments":{"city":"Paris"}}</tool_call>\n</tool_calls>\n\n[tool result for call_1 (get_weather)]\nsunny');
  });
});

describe("parseOpenAIChatRequest", () => {
  const base = { model: "grok-chat-fast", messages: [{ role: "user", content: "hi" }] };
  const err = (body: unknown) => {
    try {
      parseOpenAIChatRequest(body);
    } catch (e) {
      return e as ProxyError;
    }
    throw new Error("expected an error");
  };

  it("accepts vendor extras and nulls", () => {
    const r = parseOpenAIChatRequest({ ...base, temperature: null, top_k: 5, enable_thinking: true, logprobs: true, reasoning: { effort: "low" }, stream_options: { include_usage: true } });
    expect(r.stream).toBe(false);
    expect(r.extra.includeUsage).toBe(false); // ignored without stream
  });

  it("treats developer as system and reads content parts", () => {
    const r = parseOpenAIChatRequest({ model: "m", messages: [{ role: "developer", content: "rules" }, { role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }] });
    expect(r.messages).toEqual([{ role: "system", text: "rules" }, { role: "user", text: "a\nb" }]);
  });

  it("names the bad field", () => {
    expect(err({ messages: [] }).param).toBe("model");
    expect(err({ model: "m" }).param).toBe("messages");
    expect(err({ ...base, n: 2 }).param).toBe("n");
    expect(err({ ...base, reasoning_effort: "huge" }).param).toBe("reasoning_effort");
    expect(err({ ...base, stop: [1] }).param).toBe("stop");
    expect(err({ model: "m", messages: [{ role: "robot", content: "x" }] }).param).toBe("messages[0].role");
    expect(err({ model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,@@@" } }] }] }).param).toBe("messages[0].content[0].image_url.url");
    expect(err({ model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:application/pdf;base64,AAAA" } }] }] }).status).toBe(400);
  });

  it("accepts image_url as a bare string and as an object", () => {
    const png = "data:image/png;base64," + Buffer.from("fakepng").toString("base64");
    const r = parseOpenAIChatRequest({ model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: png }, { type: "image_url", image_url: { url: "https://example.org/a.png" } }, { type: "text", text: "what?" }] }] });
    expect(r.attachments.map((a) => a.kind)).toEqual(["data", "url"]);
    expect(r.messages[0]!.text).toBe("[image #1]\n[image #2]\nwhat?");
  });

  it("prefers max_completion_tokens over max_tokens", () => {
    expect(parseOpenAIChatRequest({ ...base, max_tokens: 10, max_completion_tokens: 20 }).maxTokens).toBe(20);
    expect(parseOpenAIChatRequest({ ...base, max_tokens: 10 }).maxTokens).toBe(10);
  });
});
