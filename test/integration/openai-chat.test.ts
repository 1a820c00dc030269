import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openapiValidator } from "../support/openapi.js";
import { readSse, startStack, type Stack } from "../support/stack.js";
import { DEFAULT_TEXT, DEFAULT_REASONING } from "../fake-grok/index.js";

const chunkSchema = openapiValidator("CreateChatCompletionStreamResponse");
const responseSchema = openapiValidator("CreateChatCompletionResponse");
const listSchema = openapiValidator("ListModelsResponse");

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ accounts: ["super"] });
});
afterAll(async () => stack?.close());
beforeEach(async () => {
  stack.fake.reset();
  await stack.server.deps.settings.update({ grok: { thinking_output: "reasoning_content", show_thinking: true, chat_transport: "gateway" } });
});

const user = (content: string) => [{ role: "user" as const, content }];

describe.each(["gateway", "rest"] as const)("OpenAI chat over the %s transport", (transport) => {
  beforeEach(async () => {
    await stack.server.deps.settings.update({ grok: { chat_transport: transport } });
  });

  it("answers non-stream with exact content and a schema-valid body", async () => {
    const { data, response } = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: user("Say hi") }).withResponse();
    responseSchema(data);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    expect(data.choices[0]!.message.content).toBe(DEFAULT_TEXT);
    expect(data.choices[0]!.finish_reason).toBe("stop");
    expect(data.model).toBe("grok-chat-fast");
    expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);
  });

  it("streams schema-valid chunks that the SDK helper accumulates", async () => {
    const stream = stack.openai.chat.completions.stream({ model: "grok-chat-fast", messages: user("Say hi"), stream_options: { include_usage: true } });
    const chunks: unknown[] = [];
    stream.on("chunk", (c) => chunks.push(c));
    const final = await stream.finalChatCompletion();
    chunks.forEach(chunkSchema);
    expect(final.choices[0]!.message.content).toBe(DEFAULT_TEXT);
    expect(final.choices[0]!.finish_reason).toBe("stop");
    const last = chunks[chunks.length - 1] as { choices: unknown[]; usage: { total_tokens: number } };
    expect(last.choices).toEqual([]);
    expect(last.usage.total_tokens).toBeGreaterThan(0);
    expect(new Set(chunks.map((c) => (c as { id: string }).id)).size).toBe(1);
  });

  it("returns reasoning as reasoning_content, before the content", async () => {
    stack.fake.queue("*", "thinking");
    const chunks: Array<{ choices: Array<{ delta: Record<string, unknown> }> }> = [];
    for await (const c of await stack.openai.chat.completions.create({ model: "grok-chat-expert", messages: user("think"), stream: true })) chunks.push(c as never);
    const deltas = chunks.flatMap((c) => c.choices.map((ch) => ch.delta));
    const reasoning = deltas.map((d) => d.reasoning_content ?? "").join("");
    const content = deltas.map((d) => d.content ?? "").join("");
    expect(reasoning).toContain(DEFAULT_REASONING);
    expect(content).not.toContain(DEFAULT_REASONING);
    const firstContent = deltas.findIndex((d) => typeof d.content === "string" && d.content.length > 0);
    const lastReasoning = deltas.map((d) => !!d.reasoning_content).lastIndexOf(true);
    expect(lastReasoning).toBeLessThan(firstContent);
  });
});

describe("OpenAI chat output options", () => {
  it("think-tags mode puts reasoning inside <think> in content", async () => {
    await stack.server.deps.settings.update({ grok: { thinking_output: "think-tags" } });
    stack.fake.queue("*", "thinking");
    const r = await stack.openai.chat.completions.create({ model: "grok-chat-expert", messages: user("think") });
    expect(r.choices[0]!.message.content).toMatch(/^<think>\n[\s\S]*\n<\/think>\n\n/);
    expect(r.choices[0]!.message.content).toContain(DEFAULT_REASONING);
  });

  it("show_thinking false hides reasoning entirely", async () => {
    await stack.server.deps.settings.update({ grok: { show_thinking: false } });
    stack.fake.queue("*", "thinking");
    const r = await stack.openai.chat.completions.create({ model: "grok-chat-expert", messages: user("think") });
    expect(JSON.stringify(r)).not.toContain(DEFAULT_REASONING);
    expect(r.usage!.completion_tokens_details!.reasoning_tokens).toBeGreaterThan(0);
  });

  it("search results become url_citation annotations with inline markers", async () => {
    stack.fake.queue("*", "search");
    const r = await stack.openai.chat.completions.create({ model: "grok-chat-expert", messages: user("How far is the Moon?") });
    const msg = r.choices[0]!.message as { content: string; annotations?: Array<{ type: string; url_citation: { url: string; start_index: number; end_index: number } }> };
    expect(msg.annotations?.length).toBeGreaterThan(0);
    for (const a of msg.annotations!) {
      expect(a.type).toBe("url_citation");
      expect(msg.content.slice(a.url_citation.start_index, a.url_citation.end_index)).toContain(a.url_citation.url);
    }
  });

  it("in-text grok:render citation tags (any case) and artifacts never leak", async () => {
    for (const transport of ["gateway", "rest"] as const) {
      await stack.server.deps.settings.update({ grok: { chat_transport: transport } });
      stack.fake.queue("*", "markup");
      const r = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: user("markup") });
      const text = r.choices[0]!.message.content ?? "";
      expect(text).not.toMatch(/<\/?(grok:render|xaiartifact|xai:tool_usage_card)/i);
      expect(text.length).toBeGreaterThan(0);
    }
    stack.fake.queue("*", "search-tags");
    const r = await stack.openai.chat.completions.create({ model: "grok-chat-expert", messages: user("tags") });
    expect(r.choices[0]!.message.content).not.toMatch(/grok:render/i);
  });

  it("reassembles text split inside multi-byte characters on both transports", async () => {
    for (const transport of ["gateway", "rest"] as const) {
      await stack.server.deps.settings.update({ grok: { chat_transport: transport } });
      stack.fake.queue("*", { name: "split-utf8", text: "你好，世界！🌍🚀 Ünïcödé — done" });
      const r = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: user("utf8") });
      expect(r.choices[0]!.message.content).toBe("你好，世界！🌍🚀 Ünïcödé — done");
    }
  });

  it("honours stop sequences and max_tokens", async () => {
    stack.fake.queue("*", { name: "text", text: "alpha beta STOP gamma" });
    const a = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: user("x"), stop: ["STOP"] });
    expect(a.choices[0]!.message.content).toBe("alpha beta ");
    expect(a.choices[0]!.finish_reason).toBe("stop");
    stack.fake.queue("*", { name: "text", text: "one two three four five six seven eight" });
    const b = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: user("x"), max_tokens: 2 });
    const content = b.choices[0]!.message.content ?? "";
    expect(content.length).toBeGreaterThan(0);
    expect("one two three four five six seven eight".startsWith(content)).toBe(true);
    expect(content.length).toBeLessThanOrEqual(8);
    expect(b.choices[0]!.finish_reason).toBe("length");
  });

  it("sends keep-alive comments while the upstream is slow", async () => {
    await stack.server.deps.settings.update({ grok: { keepalive_interval: 1 } });
    stack.fake.queue("*", { name: "slow", delayMs: 1300 });
    const res = await fetch(`${stack.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "grok-chat-fast", messages: user("slow"), stream: true }) });
    const { data, comments } = await readSse(res);
    expect(comments).toContain(": keep-alive");
    expect(data[data.length - 1]).toBe("[DONE]");
    await stack.server.deps.settings.update({ grok: { keepalive_interval: 15 } });
  });

  it("lists models in the OpenAI and Anthropic shapes", async () => {
    const res = await fetch(`${stack.url}/v1/models`);
    const body = await res.json();
    listSchema(body);
    const models = [];
    for await (const m of stack.openai.models.list()) models.push(m.id);
    expect(models).toContain("grok-chat-fast");
    expect(models).toContain("grok-4-expert");
    expect((await stack.openai.models.retrieve("grok-chat-fast")).id).toBe("grok-chat-fast");
    const missing = await fetch(`${stack.url}/v1/models/nope`);
    expect(missing.status).toBe(404);
  });

  it("accepts a data-URL image, uploads it with the same account and attaches it", async () => {
    const png = Buffer.from(
      "iVBORw0KGgoAAAANSUhEUgAAAEAAAABACAIAAAAlC+aJAAAAPklEQVR4nO3OMQ0AAAjAMMC/5+GBj6RV0MzOZ2sDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA8NgBdNkBf6fKJ1IAAAAASUVORK5CYII=",
      "base64",
    );
    const r = await stack.openai.chat.completions.create({
      model: "grok-chat-fast",
      messages: [{ role: "user", content: [{ type: "text", text: "what is this?" }, { type: "image_url", image_url: { url: `data:image/png;base64,${png.toString("base64")}` } }] }],
    });
    expect(r.choices[0]!.message.content).toBe(DEFAULT_TEXT);
    const upload = stack.fake.requests.find((q) => q.path === "/http/upload-file-v2/direct");
    expect(upload).toBeTruthy();
    expect(upload!.rejected).toBeUndefined();
    const chat = stack.fake.chatRequests().at(-1)!;
    expect(JSON.stringify(chat.wsMessages ?? chat.body)).toContain("file_mention");
  });
});
