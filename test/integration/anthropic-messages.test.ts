import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_REASONING, DEFAULT_TEXT } from "../fake-grok/index.js";
import { startStack, type Stack } from "../support/stack.js";

/** Anthropic Messages against the real server and the fake grok.com (api-conformance.md §4). */
let stack: Stack;
let client: Anthropic;
beforeAll(async () => {
  stack = await startStack({ accounts: ["super"] });
  client = new Anthropic({ baseURL: stack.url, apiKey: "test-key", maxRetries: 0, timeout: 20_000 });
});
afterAll(async () => stack?.close());
beforeEach(async () => {
  stack.fake.reset();
  await stack.server.deps.settings.update({ grok: { show_thinking: true, chat_transport: "gateway" } });
});

interface RawEvent {
  event: string | null;
  data: Record<string, any>;
}

/** Posts to /v1/messages and returns every SSE event with its `event:` name. */
async function rawStream(body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ status: number; events: RawEvent[]; headers: Headers }> {
  const res = await fetch(`${stack.url}/v1/messages?beta=true`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "test-key", "anthropic-version": "2023-06-01", ...headers },
    body: JSON.stringify({ stream: true, ...body }),
  });
  const text = await res.text();
  const events: RawEvent[] = [];
  for (const block of text.split("\n\n")) {
    if (!block.trim()) continue;
    let event: string | null = null;
    let data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    if (data) events.push({ event, data: JSON.parse(data) });
  }
  return { status: res.status, events, headers: res.headers };
}

const base = { model: "grok-chat-fast", max_tokens: 1024, messages: [{ role: "user" as const, content: "Say hi" }] };

describe.each(["gateway", "rest"] as const)("Anthropic Messages over the %s transport", (transport) => {
  beforeEach(async () => {
    await stack.server.deps.settings.update({ grok: { chat_transport: transport } });
  });

  it("create: one text block, end_turn, integer usage, request-id", async () => {
    const { data, response } = await client.messages.create(base).withResponse();
    expect(response.headers.get("request-id")).toMatch(/^req_/);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(data).toMatchObject({ type: "message", role: "assistant", model: "grok-chat-fast", stop_reason: "end_turn", stop_sequence: null });
    expect(data.id).toMatch(/^msg_/);
    expect(data.content).toEqual([{ type: "text", text: DEFAULT_TEXT, citations: null }]);
    expect(Number.isInteger(data.usage.input_tokens) && data.usage.input_tokens > 0).toBe(true);
    expect(Number.isInteger(data.usage.output_tokens) && data.usage.output_tokens > 0).toBe(true);
  });

  it("stream: the exact event grammar, every event named as its type", async () => {
    const { status, events, headers } = await rawStream(base);
    expect(status).toBe(200);
    expect(headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(headers.get("request-id")).toMatch(/^req_/);
    for (const e of events) expect(e.event).toBe(e.data.type);
    const types = events.map((e) => e.data.type).filter((t) => t !== "ping");
    expect(types[0]).toBe("message_start");
    expect(types.slice(1, 2)).toEqual(["content_block_start"]);
    expect(types.slice(-4)).toEqual(["content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
    expect(new Set(types.slice(2, -3))).toEqual(new Set(["content_block_delta"]));
    const start = events[0]!.data.message;
    expect(start).toMatchObject({ type: "message", role: "assistant", content: [], stop_reason: null, stop_sequence: null });
    expect(Number.isInteger(start.usage.input_tokens)).toBe(true);
    const text = events.filter((e) => e.data.type === "content_block_delta").map((e) => e.data.delta.text).join("");
    expect(text).toBe(DEFAULT_TEXT);
    const delta = events.find((e) => e.data.type === "message_delta")!.data;
    expect(delta.delta).toEqual({ stop_reason: "end_turn", stop_sequence: null });
    expect(Number.isInteger(delta.usage.output_tokens)).toBe(true);
  });

  it("stream: the SDK's finalMessage() accumulates it", async () => {
    const final = await client.messages.stream(base).finalMessage();
    expect(final.content).toEqual([{ type: "text", text: DEFAULT_TEXT }]); // as content_block_start gave it
    expect(final.stop_reason).toBe("end_turn");
    expect(final.usage.output_tokens).toBeGreaterThan(0);
  });

  it("thinking comes first as a thinking block closed by one signature_delta", async () => {
    stack.fake.queue("*", "thinking");
    const { events } = await rawStream({ ...base, model: "grok-chat-expert", thinking: { type: "enabled", budget_tokens: 2048 } });
    const blocks = events.filter((e) => e.data.type === "content_block_start").map((e) => e.data);
    expect(blocks.map((b) => [b.index, b.content_block.type])).toEqual([
      [0, "thinking"],
      [1, "text"],
    ]);
    expect(blocks[0]!.content_block).toEqual({ type: "thinking", thinking: "", signature: "" });
    const t0 = events.filter((e) => e.data.index === 0 && e.data.type === "content_block_delta").map((e) => e.data.delta);
    expect(t0.filter((d) => d.type === "thinking_delta").map((d) => d.thinking).join("")).toContain(DEFAULT_REASONING);
    expect(t0.filter((d) => d.type === "signature_delta")).toHaveLength(1);
    expect(t0[t0.length - 1]!.type).toBe("signature_delta");
    const order = events.map((e) => `${e.data.type}:${e.data.index ?? ""}`).filter((s) => !s.startsWith("ping"));
    expect(order.indexOf("content_block_stop:0")).toBeLessThan(order.indexOf("content_block_start:1"));
  });

  it('thinking display "omitted" (Claude Code): a signature only, no thinking text', async () => {
    stack.fake.queue("*", "thinking");
    const final = await client.messages.create({ ...base, model: "grok-chat-expert", thinking: { type: "adaptive", display: "omitted" } } as never);
    const msg = final as unknown as Anthropic.Message;
    expect(msg.content[0]).toMatchObject({ type: "thinking", thinking: "" });
    expect((msg.content[0] as { signature: string }).signature.length).toBeGreaterThan(10);
    expect(JSON.stringify(msg.content)).not.toContain(DEFAULT_REASONING);
    expect(msg.content[1]).toEqual({ type: "text", text: DEFAULT_TEXT, citations: null });
  });
});

describe("Anthropic request handling", () => {
  it("stop_sequences end with stop_reason stop_sequence and name the sequence", async () => {
    stack.fake.queue("*", { name: "text", text: "one two STOP three" });
    const msg = await client.messages.create({ ...base, stop_sequences: ["STOP"] });
    expect(msg.stop_reason).toBe("stop_sequence");
    expect(msg.stop_sequence).toBe("STOP");
    expect(msg.content).toEqual([{ type: "text", text: "one two ", citations: null }]);
  });

  it("max_tokens ends with stop_reason max_tokens", async () => {
    stack.fake.queue("*", { name: "text", text: "one two three four five six seven eight nine ten" });
    const msg = await client.messages.create({ ...base, max_tokens: 3 });
    expect(msg.stop_reason).toBe("max_tokens");
    expect(msg.usage.output_tokens).toBeLessThanOrEqual(3);
  });

  it("accepts what Claude Code sends: system blocks, role system, nulls, unknown fields, signed thinking in history", async () => {
    const prompts: string[] = [];
    stack.fake.respond((p) => void prompts.push(p));
    const body = {
      model: "claude-sonnet-4-5-20250929",
      max_tokens: 32000,
      stream: false,
      temperature: null,
      tool_choice: null,
      metadata: { user_id: JSON.stringify({ device_id: "d", session_id: "s" }) },
      thinking: { type: "adaptive", display: "omitted" },
      output_config: { effort: "high" },
      context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
      system: [
        { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.330; cc_entrypoint=sdk-cli" },
        { type: "text", text: "You are Claude Code.", cache_control: { type: "ephemeral" } },
        { type: "text", text: "Be terse.", cache_control: { type: "ephemeral", ttl: "1h" } },
      ],
      messages: [
        { role: "system", content: "Mid-conversation system note." },
        { role: "user", content: [{ type: "text", text: "<system-reminder>ctx</system-reminder>" }, { type: "text", text: "first question", cache_control: { type: "ephemeral" } }] },
        { role: "assistant", content: [{ type: "thinking", thinking: "", signature: "Z3JvazJhcGktc2lnLTAx" }, { type: "text", text: "first answer" }] },
        { role: "user", content: "second question" },
      ],
      tools: [{ name: "Read", description: "Read a file", input_schema: { type: "object", properties: { file_path: { type: "string" } }, required: ["file_path"] }, defer_loading: true, cache_control: { type: "ephemeral" } }],
    };
    const res = await fetch(`${stack.url}/v1/messages?beta=true`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "test-key", "anthropic-version": "2023-06-01", "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27", "anthropic-dangerous-direct-browser-access": "true" },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    const msg = (await res.json()) as Anthropic.Message;
    expect(msg.model).toBe("claude-sonnet-4-5-20250929");
    expect(msg.content.at(-1)).toEqual({ type: "text", text: DEFAULT_TEXT, citations: null });
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain("You are Claude Code.");
    expect(prompts[0]).toContain("Mid-conversation system note.");
    expect(prompts[0]).toContain("second question");
    expect(prompts[0]).not.toContain("x-anthropic-billing-header");
  });

  it("maps claude-* names through model_map onto the pool's modes", async () => {
    const modes: string[] = [];
    const before = stack.fake.requests.length;
    await client.messages.create({ ...base, model: "claude-opus-4-1" });
    await client.messages.create({ ...base, model: "claude-3-5-haiku-latest" });
    for (const r of stack.fake.requests.slice(before)) {
      for (const m of r.wsMessages ?? []) {
        const model = (m as any)?.event?.session?.model;
        if (model) modes.push(model);
      }
    }
    expect(modes).toEqual(["expert", "fast"]); // one SuperGrok account: strongest = expert
  });

  it("count_tokens answers an estimate without max_tokens", async () => {
    const res = await client.messages.countTokens({ model: "grok-chat-fast", messages: [{ role: "user", content: "Hello there, how are you today?" }] });
    expect(res.input_tokens).toBeGreaterThan(3);
  });

  it.each([
    ["missing max_tokens", { model: "grok-chat-fast", messages: [{ role: "user", content: "x" }] }, 400, "invalid_request_error", /max_tokens/],
    ["bad role", { ...base, messages: [{ role: "robot", content: "x" }] }, 400, "invalid_request_error", /messages\.0\.role/],
    ["bad image type", { ...base, messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/bmp", data: "AAAA" } }] }] }, 400, "invalid_request_error", /media_type/],
    ["tool without schema", { ...base, tools: [{ name: "x" }] }, 400, "invalid_request_error", /tools\.0\.input_schema/],
    ["unknown model", { ...base, model: "gpt-nope" }, 404, "not_found_error", /model_map/],
  ])("%s → %s in Anthropic's error shape, nothing sent upstream", async (_name, body, status, type, message) => {
    const before = stack.fake.chatRequests().length;
    const res = await fetch(`${stack.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": "k" }, body: JSON.stringify(body) });
    expect(res.status).toBe(status);
    const err = (await res.json()) as { type: string; error: { type: string; message: string }; request_id: string };
    expect(err.type).toBe("error");
    expect(err.error.type).toBe(type);
    expect(err.error.message).toMatch(message);
    expect(err.request_id).toMatch(/^req_/);
    expect(stack.fake.chatRequests().length).toBe(before);
  });

  it("rate limits: 529 overloaded_error when nothing frees up soon, 429 rate_limit_error when it does", async () => {
    const post = () => fetch(`${stack.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(base) });
    const sso = stack.accounts[0]!.sso;
    // healthy with a fresh fast bucket: a quota sync of an earlier test may have made the bucket known, and a 429 then exhausts it
    const healthy = () => stack.server.deps.pool.markHealthy(sso, [{ mode: "fast", remaining: 30, total: 30, windowSeconds: 86400, resetAt: null }]);
    await healthy();
    stack.fake.queue("*", { name: "http-429", retryAfterSeconds: 3600 });
    const later = await post();
    expect(later.status).toBe(529);
    expect(((await later.json()) as any).error.type).toBe("overloaded_error");
    expect(Number(later.headers.get("retry-after"))).toBeGreaterThan(3000);
    await healthy();
    stack.fake.queue("*", { name: "http-429", retryAfterSeconds: 5 });
    const soon = await post();
    expect(soon.status).toBe(429);
    expect(((await soon.json()) as any).error.type).toBe("rate_limit_error");
    expect(Number(soon.headers.get("retry-after"))).toBeLessThanOrEqual(30);
    await healthy();
  });

  it("an upstream failure after output began is an in-band error event", async () => {
    stack.fake.queue("*", "session-ended");
    const { events } = await rawStream(base);
    const last = events.at(-1)!;
    expect(last.event).toBe("error");
    expect(last.data.type).toBe("error");
    expect(typeof last.data.error.type).toBe("string");
    expect(events[0]!.data.type).toBe("message_start");
  });
});
