import { describe, expect, it } from "vitest";
import { grokSchema } from "../../src/server/config/settings-schema.js";
import { ProxyError } from "../../src/server/errors.js";
import { createLogger } from "../../src/server/log.js";
import type { RenderContext, SseFrame, TurnSummary } from "../../src/server/protocols/adapter.js";
import { parseResponsesRequest } from "../../src/server/protocols/responses/parse-request.js";
import { decodeReasoningBlob } from "../../src/server/protocols/responses/reasoning-blob.js";
import { ResponsesStream, renderResponse } from "../../src/server/protocols/responses/render.js";
import { ResponsesState } from "../../src/server/protocols/responses/state.js";
import type { OutputOp } from "../../src/server/protocols/shape-output.js";
import type { Store } from "../../src/server/store/types.js";
import { validateResponse, validateResponsesEvent } from "../support/openapi.js";

/** Responses rendering (stream grammar and the Response object) and the response store, without a server. */
type Obj = Record<string, any>;

function ctxFor(body: Obj, settings: Obj = {}): RenderContext {
  const turn = parseResponsesRequest({ model: "grok-chat-fast", input: "hi", ...body });
  return { turn, requestId: "req_1", servedModel: "grok-chat-fast", settings: grokSchema.parse(settings), promptTokens: 3 };
}

const summary = (s: Partial<TurnSummary> = {}): TurnSummary => ({ text: "", reasoning: "", citations: [], sources: [], toolCalls: [], finish: "stop", stopSequence: null, usage: { inputTokens: 3, outputTokens: 2, reasoningTokens: 0 }, ...s });

/** Runs ops through a stream renderer and checks what every stream must satisfy. */
function run(ctx: RenderContext, steps: Array<OutputOp[] | { finish: TurnSummary } | { error: ProxyError }>): Obj[] {
  const r = new ResponsesStream(ctx);
  const frames: SseFrame[] = [];
  for (const s of steps) {
    if (Array.isArray(s)) frames.push(...r.ops(s));
    else if ("finish" in s) frames.push(...r.finish(s.finish));
    else frames.push(...r.error(s.error));
  }
  const data = frames.map((f) => f.data as Obj);
  frames.forEach((f, i) => {
    expect(f.event).toBe((f.data as Obj).type);
    expect((f.data as Obj).sequence_number).toBe(i);
    validateResponsesEvent(f.data);
    if ((f.data as Obj).response) validateResponse((f.data as Obj).response);
  });
  return data;
}

const types = (events: Obj[]) => events.map((e) => e.type);

describe("Responses stream grammar", () => {
  it("reasoning (summary asked), text with a citation, a function call: exact events, ids and offsets", () => {
    const ctx = ctxFor({ reasoning: { summary: "auto" }, include: ["reasoning.encrypted_content"], tools: [{ type: "function", name: "f", parameters: { type: "object" } }] });
    const citation = { url: "https://example.org/a", title: "A", start: 6, end: 30 };
    const events = run(ctx, [
      [{ kind: "reasoning", text: "hm" }],
      [{ kind: "reasoning", text: "m." }],
      [{ kind: "text", text: "Hello", citations: [] }],
      [{ kind: "text", text: " [[1]](https://example.org/a)", citations: [{ ...citation, start: 5, end: 35 }] }],
      [{ kind: "tool_call", call: { name: "f", arguments: '{"x":1}' } }],
      { finish: summary({ text: "Hello [[1]](https://example.org/a)", reasoning: "hmm.", toolCalls: [{ name: "f", arguments: '{"x":1}' }], finish: "tool_calls" }) },
    ]);
    expect(types(events)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.reasoning_summary_part.added",
      "response.reasoning_summary_text.delta",
      "response.reasoning_summary_text.delta",
      "response.reasoning_summary_text.done",
      "response.reasoning_summary_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.annotation.added",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const final = events.at(-1)!.response;
    expect(final.status).toBe("completed");
    expect(final.output.map((i: Obj) => i.type)).toEqual(["reasoning", "message", "function_call"]);
    expect(final.output[0].summary).toEqual([{ type: "summary_text", text: "hmm." }]);
    expect(decodeReasoningBlob(final.output[0].encrypted_content)).toEqual({ id: final.output[0].id, text: "hmm." });
    const part = final.output[1].content[0];
    expect(part.annotations).toEqual([{ type: "url_citation", url: "https://example.org/a", title: "A", start_index: 5, end_index: 35 }]);
    expect(part.text.slice(5, 35)).toContain("https://example.org/a");
    expect(final.output[2]).toMatchObject({ type: "function_call", name: "f", arguments: '{"x":1}', status: "completed" });
    expect(final.usage).toMatchObject({ input_tokens: 3, output_tokens: 2, total_tokens: 5 });
    // every event of an item names that item, and output indexes follow the item order
    const added = events.filter((e) => e.type === "response.output_item.added");
    expect(added.map((e) => e.output_index)).toEqual([0, 1, 2]);
    expect(added.map((e) => e.item.id)).toEqual(final.output.map((i: Obj) => i.id));
  });

  it("reasoning not asked for (or hidden by settings) is not output", () => {
    for (const ctx of [ctxFor({}), ctxFor({ reasoning: { summary: "auto" } }, { show_thinking: false }), ctxFor({ reasoning: { summary: "auto", effort: "none" } })]) {
      const events = run(ctx, [[{ kind: "reasoning", text: "secret" }], [{ kind: "text", text: "Hi", citations: [] }], { finish: summary({ text: "Hi", reasoning: "secret" }) }]);
      expect(JSON.stringify(events)).not.toContain("secret");
    }
  });

  it("encrypted_content without a summary: a reasoning item with an empty summary and the blob", () => {
    const events = run(ctxFor({ include: ["reasoning.encrypted_content"] }), [[{ kind: "reasoning", text: "t" }], [{ kind: "text", text: "Hi", citations: [] }], { finish: summary({ text: "Hi", reasoning: "t" }) }]);
    expect(types(events).slice(2, 4)).toEqual(["response.output_item.added", "response.output_item.done"]);
    expect(events[3]!.item).toMatchObject({ type: "reasoning", summary: [] });
    expect(decodeReasoningBlob(events[3]!.item.encrypted_content)?.text).toBe("t");
  });

  it("custom and local_shell calls, and a namespaced function, become their own item types", () => {
    const ctx = ctxFor({ tools: [{ type: "custom", name: "apply_patch" }, { type: "local_shell" }, { type: "namespace", name: "ns", description: "", tools: [{ type: "function", name: "fn" }] }] });
    const events = run(ctx, [
      [
        { kind: "tool_call", call: { name: "apply_patch", arguments: '{"input":"*** Begin Patch\\n"}' } },
        { kind: "tool_call", call: { name: "local_shell", arguments: '{"command":["ls","-a"],"timeout_ms":500}' } },
        { kind: "tool_call", call: { name: "ns__fn", arguments: "{}" } },
      ],
      { finish: summary({ finish: "tool_calls" }) },
    ]);
    expect(types(events)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.custom_tool_call_input.delta",
      "response.custom_tool_call_input.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const out = events.at(-1)!.response.output;
    expect(out[0]).toMatchObject({ type: "custom_tool_call", name: "apply_patch", input: "*** Begin Patch\n" });
    expect(out[1]).toMatchObject({ type: "local_shell_call", action: { type: "exec", command: ["ls", "-a"], timeout_ms: 500, env: {} } });
    expect(out[2]).toMatchObject({ type: "function_call", namespace: "ns", name: "fn" });
    expect(new Set(out.map((i: Obj) => i.call_id)).size).toBe(3);
  });

  it("no output at all: one empty message, so output_text is defined", () => {
    const events = run(ctxFor({}), [{ finish: summary() }]);
    expect(types(events)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added", "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]);
  });

  it("token limit: the message is incomplete and response.incomplete is the terminal event", () => {
    const events = run(ctxFor({ max_output_tokens: 1 }), [[{ kind: "text", text: "one", citations: [] }], { finish: summary({ text: "one", finish: "length" }) }]);
    expect(events.at(-1)!.type).toBe("response.incomplete");
    expect(events.at(-1)!.response).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } });
    expect(events.at(-2)!.item.status).toBe("incomplete");
  });

  it("a failure: error then response.failed, last, carrying the finished items only; nothing after it", () => {
    const ctx = ctxFor({});
    const r = new ResponsesStream(ctx);
    r.ops([{ kind: "text", text: "partial", citations: [] }]);
    const frames = r.error(new ProxyError(502, "upstream_error", "grok.com dropped the stream"));
    expect(frames.map((f) => f.event)).toEqual(["error", "response.failed"]);
    const [err, failed] = frames.map((f) => f.data as Obj);
    validateResponsesEvent(err);
    validateResponsesEvent(failed);
    expect(err).toMatchObject({ code: "upstream_error", message: "grok.com dropped the stream", param: null, sequence_number: 5 });
    expect(failed!.response).toMatchObject({ status: "failed", output: [], error: { code: "server_error", message: "grok.com dropped the stream" } });
    expect(r.finish(summary())).toEqual([]);
    expect(r.ops([{ kind: "text", text: "late", citations: [] }])).toEqual([]);
    // before any output: created and in_progress still open the stream
    expect(run(ctxFor({}), [{ error: new ProxyError(429, "rate_limited", "busy") }]).map((e) => e.type)).toEqual(["response.created", "response.in_progress", "error", "response.failed"]);
  });
});

describe("keep-alives", () => {
  it("the first opens the response, later ones are comments, and the grammar stays intact", () => {
    const r = new ResponsesStream(ctxFor({}));
    const first = r.keepAlive() as SseFrame[];
    expect(first.map((f) => f.event)).toEqual(["response.created", "response.in_progress"]);
    expect(r.keepAlive()).toBe(": keep-alive\n\n");
    const rest = [...r.ops([{ kind: "text", text: "Hi", citations: [] }]), ...r.finish(summary({ text: "Hi" }))];
    const all = [...first, ...rest].map((f) => f.data as Obj);
    expect(all.map((e) => e.sequence_number)).toEqual(all.map((_, i) => i));
    expect(all.filter((e) => e.type === "response.created")).toHaveLength(1);
    expect(all.at(-1)!.type).toBe("response.completed");
  });
});

describe("the non-stream Response", () => {
  it("has the stream's items in the same order, valid against the spec", () => {
    const ctx = ctxFor({ reasoning: { summary: "concise" }, tools: [{ type: "function", name: "f" }] });
    const r = renderResponse(summary({ text: "Hi [[1]](https://e.org)", reasoning: "r", citations: [{ url: "https://e.org", title: null, start: 3, end: 23 }], toolCalls: [{ name: "f", arguments: "{}" }], finish: "tool_calls" }), ctx);
    validateResponse(r);
    expect((r.output as Obj[]).map((i) => i.type)).toEqual(["reasoning", "message", "function_call"]);
    expect((r.output as Obj[])[1]!.content[0].annotations).toEqual([{ type: "url_citation", url: "https://e.org", title: "https://e.org", start_index: 3, end_index: 23 }]);
    expect(r).toMatchObject({ object: "response", status: "completed", model: "grok-chat-fast", reasoning: { effort: null, summary: "concise" } });
  });
});

describe("ResponsesState", () => {
  function memoryStore() {
    const kv = new Map<string, { v: string; ttl?: number }>();
    const store = {
      kvGet: async (k: string) => kv.get(k)?.v ?? null,
      kvSet: async (k: string, v: string, ttl?: number) => void kv.set(k, { v, ttl }),
      kvDelete: async (k: string) => void kv.delete(k),
    } as unknown as Store;
    return { kv, store };
  }
  const lines: string[] = [];
  const log = createLogger("debug", "t", (l) => lines.push(l));
  const id = `resp_${"a".repeat(48)}`;
  const rec = { response: { id, output: [{ type: "message", id: "msg_2" }] }, input: [{ type: "message", id: "msg_1" }], history: [{ type: "message", id: "msg_0" }] };

  it("stores with the TTL, loads, lists the conversation, deletes", async () => {
    const { kv, store } = memoryStore();
    const st = new ResponsesState(store, () => 2, log);
    expect(await st.save(rec)).toBe(true);
    expect(kv.get(`responses:${id}`)!.ttl).toBe(2 * 3_600_000);
    expect(await st.load(id)).toEqual(rec);
    expect(await st.delete(id)).toBe(true);
    expect(await st.delete(id)).toBe(false);
    expect(await st.load(id)).toBeNull();
  });

  it("a record over the cap is not stored, and says so", async () => {
    const { kv, store } = memoryStore();
    const st = new ResponsesState(store, () => 72, log, 100);
    expect(await st.save({ ...rec, input: [{ type: "message", content: "x".repeat(200) }] })).toBe(false);
    expect(kv.size).toBe(0);
    expect(lines.some((l) => l.includes("larger than the cap"))).toBe(true);
  });

  it("ids that are not ours are never looked up; unreadable records are unknown", async () => {
    const { kv, store } = memoryStore();
    const st = new ResponsesState(store, () => 72, log);
    kv.set("responses:../../etc", { v: JSON.stringify(rec) });
    expect(await st.load("../../etc")).toBeNull();
    kv.set(`responses:${id}`, { v: "{broken" });
    expect(await st.load(id)).toBeNull();
  });
});
