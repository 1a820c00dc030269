import { APIError } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_REASONING, DEFAULT_TEXT } from "../fake-grok/index.js";
import { validateResponse, validateResponsesEvent } from "../support/openapi.js";
import { startStack, type Stack } from "../support/stack.js";

/**
 * The Responses API against the real server and the fake grok.com (api-conformance.md §3.5):
 * the official openai SDK (create, stream, finalResponse, previous_response_id, tools), the exact
 * event grammar on the raw SSE, every event and Response validated against the vendored spec.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ accounts: ["super"] });
});
afterAll(async () => stack?.close());
beforeEach(async () => {
  stack.fake.reset();
  await stack.server.deps.settings.update({ grok: { show_thinking: true, chat_transport: "gateway", inline_citations: true } });
});

type Obj = Record<string, any>;
interface RawEvent {
  event: string | null;
  data: Obj;
}

/** POSTs to /v1/responses (or another path) and returns every SSE event with its `event:` name. */
async function rawStream(body: Obj, path = "/v1/responses"): Promise<{ status: number; events: RawEvent[]; headers: Headers; raw: string }> {
  const res = await fetch(`${stack.url}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer k" }, body: JSON.stringify({ stream: true, ...body }) });
  const raw = await res.text();
  const events: RawEvent[] = [];
  for (const block of raw.split("\n\n")) {
    if (!block.trim() || block.startsWith(":")) continue;
    let event: string | null = null;
    let data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    if (data) events.push({ event, data: JSON.parse(data) });
  }
  return { status: res.status, events, headers: res.headers, raw };
}

/** The grammar every stream must follow: named events, sequence 0…n-1, each valid, Responses valid, one terminal event last. */
function checkStream(events: RawEvent[]): string[] {
  events.forEach((e, i) => {
    expect(e.event).toBe(e.data.type);
    expect(e.data.sequence_number).toBe(i);
    validateResponsesEvent(e.data);
    if (e.data.response) validateResponse(e.data.response);
  });
  const types = events.map((e) => e.data.type);
  const terminal = types.filter((t) => ["response.completed", "response.incomplete", "response.failed"].includes(t));
  expect(terminal).toHaveLength(1);
  expect(types.at(-1)).toBe(terminal[0]);
  return types;
}

/** Types with runs of one delta type collapsed to `type*`, so a sequence is asserted exactly whatever the chunking. */
function collapse(types: string[]): string[] {
  const out: string[] = [];
  for (const t of types) {
    const s = t.endsWith(".delta") ? `${t}*` : t;
    if (s.endsWith("*") && out.at(-1) === s) continue;
    out.push(s);
  }
  return out;
}

const MESSAGE_EVENTS = ["response.output_item.added", "response.content_part.added", "response.output_text.delta*", "response.output_text.done", "response.content_part.done", "response.output_item.done"];
const base = { model: "grok-chat-fast", input: "Say hi" };
const envelope = (...calls: Array<{ name: string; arguments: unknown }>) => `<tool_calls>\n${calls.map((c) => `<tool_call>${JSON.stringify(c)}</tool_call>`).join("\n")}\n</tool_calls>`;
const weather = { type: "function" as const, name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }, strict: false };

/** The model: calls get_weather until a tool result is in the prompt, then answers. */
function weatherModel(prompts: string[] = []) {
  return (p: string) => {
    prompts.push(p);
    if (/\[tool result for call_/.test(p)) return "It is sunny in Paris.";
    return `Let me check.\n${envelope({ name: "get_weather", arguments: { city: "Paris" } })}`;
  };
}

describe.each(["gateway", "rest"] as const)("Responses over the %s transport", (transport) => {
  beforeEach(async () => {
    await stack.server.deps.settings.update({ grok: { chat_transport: transport } });
  });

  it("create: one message with output_text, status completed, integer usage, x-request-id", async () => {
    const { data, response } = await stack.openai.responses.create(base).withResponse();
    validateResponse(data);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    expect(data).toMatchObject({ object: "response", status: "completed", model: "grok-chat-fast", error: null, incomplete_details: null, store: true, previous_response_id: null });
    expect(data.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(data.output).toHaveLength(1);
    expect(data.output[0]).toMatchObject({ type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text: DEFAULT_TEXT, annotations: [] }] });
    expect(data.output_text).toBe(DEFAULT_TEXT);
    const u = data.usage!;
    expect(Number.isInteger(u.input_tokens) && u.input_tokens > 0).toBe(true);
    expect(Number.isInteger(u.output_tokens) && u.output_tokens > 0).toBe(true);
    expect(u.total_tokens).toBe(u.input_tokens + u.output_tokens);
  });

  it("stream: the exact event grammar, named events, sequence numbers from 0", async () => {
    const { status, events, headers } = await rawStream(base);
    expect(status).toBe(200);
    expect(headers.get("content-type")).toMatch(/^text\/event-stream/);
    const types = checkStream(events);
    expect(collapse(types)).toEqual(["response.created", "response.in_progress", ...MESSAGE_EVENTS, "response.completed"]);
    expect(events[0]!.data.response).toMatchObject({ status: "in_progress", output: [] });
    expect(events[0]!.data.response.usage).toBeUndefined();
    const text = events.filter((e) => e.data.type === "response.output_text.delta").map((e) => e.data.delta).join("");
    expect(text).toBe(DEFAULT_TEXT);
    const done = events.at(-1)!.data.response;
    expect(done.id).toBe(events[0]!.data.response.id);
    expect(done.status).toBe("completed");
    expect(done.output[0].content[0].text).toBe(DEFAULT_TEXT);
    const itemIds = new Set(events.filter((e) => e.data.item_id).map((e) => e.data.item_id));
    expect([...itemIds]).toEqual([done.output[0].id]);
  });

  it("the SDK's create({stream:true}) and responses.stream().finalResponse()", async () => {
    const s = await stack.openai.responses.create({ ...base, stream: true });
    const types: string[] = [];
    for await (const e of s) types.push(e.type);
    expect(types.at(-1)).toBe("response.completed");
    const final = await stack.openai.responses.stream(base).finalResponse();
    expect(final.output_text).toBe(DEFAULT_TEXT);
    expect(final.status).toBe("completed");
  });
});

describe("Responses output", () => {
  it("reasoning summary asked: a reasoning item first, with summary events, and encrypted_content that reads back", async () => {
    stack.fake.queue("*", "thinking");
    const { events } = await rawStream({ model: "grok-chat-expert", input: "Say hi", reasoning: { summary: "auto" }, include: ["reasoning.encrypted_content"] });
    const types = checkStream(events);
    expect(collapse(types)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.reasoning_summary_part.added",
      "response.reasoning_summary_text.delta*",
      "response.reasoning_summary_text.done",
      "response.reasoning_summary_part.done",
      "response.output_item.done",
      ...MESSAGE_EVENTS,
      "response.completed",
    ]);
    const out = events.at(-1)!.data.response.output;
    expect(out.map((i: Obj) => i.type)).toEqual(["reasoning", "message"]);
    expect(out[0].summary[0].text).toContain(DEFAULT_REASONING);
    expect(JSON.parse(Buffer.from(out[0].encrypted_content, "base64").toString())).toEqual({ g2a: 1, id: out[0].id, text: out[0].summary[0].text });
    expect(out[1].content[0].text).not.toContain(DEFAULT_REASONING);

    // Codex-style next turn (store:false, the whole history resent): the reasoning item is accepted, and not re-read.
    const prompts: string[] = [];
    stack.fake.respond((p) => void prompts.push(p));
    const next = await stack.openai.responses.create({ model: "grok-chat-expert", store: false, input: [{ role: "user", content: "Say hi" }, ...out, { role: "user", content: "Again" }] as never });
    expect(next.status).toBe("completed");
    expect(prompts[0]).toContain("Again");
    expect(prompts[0]).toContain(DEFAULT_TEXT);
    expect(prompts[0]).not.toContain(DEFAULT_REASONING);
  });

  it("no summary asked: no reasoning item, and reasoning never reaches output_text", async () => {
    stack.fake.queue("*", "thinking");
    const r = await stack.openai.responses.create({ ...base, model: "grok-chat-expert" });
    validateResponse(r);
    expect(r.output.map((i) => i.type)).toEqual(["message"]);
    expect(r.output_text).toBe(DEFAULT_TEXT);
  });

  it("search: url_citation annotations with offsets into the output_text, in the stream and the final object", async () => {
    stack.fake.queue("*", "search");
    const { events } = await rawStream(base);
    const types = checkStream(events);
    expect(types).toContain("response.output_text.annotation.added");
    const part = events.at(-1)!.data.response.output[0].content[0];
    expect(part.annotations.length).toBeGreaterThan(0);
    for (const a of part.annotations) {
      expect(a.type).toBe("url_citation");
      expect(part.text.slice(a.start_index, a.end_index)).toContain(a.url);
    }
    const added = events.filter((e) => e.data.type === "response.output_text.annotation.added").map((e) => e.data.annotation);
    expect(added).toEqual(part.annotations);
    stack.fake.queue("*", "search");
    const r = await stack.openai.responses.create(base);
    validateResponse(r);
    const content = r.output[0]!.type === "message" ? (r.output[0]!.content[0] as any) : null;
    for (const a of content.annotations) expect(content.text.slice(a.start_index, a.end_index)).toContain(a.url);
  });

  it("max_output_tokens: status incomplete with reason max_output_tokens (stream: response.incomplete last)", async () => {
    stack.fake.queue("*", { name: "text", text: "one two three four five six seven eight nine ten eleven twelve" });
    const r = await stack.openai.responses.create({ ...base, max_output_tokens: 3 });
    validateResponse(r);
    expect(r.status).toBe("incomplete");
    expect(r.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(r.max_output_tokens).toBe(3);
    expect(r.output[0]).toMatchObject({ type: "message", status: "incomplete" });
    stack.fake.queue("*", { name: "text", text: "one two three four five six seven eight nine ten eleven twelve" });
    const { events } = await rawStream({ ...base, max_output_tokens: 3 });
    const types = checkStream(events);
    expect(collapse(types)).toEqual(["response.created", "response.in_progress", ...MESSAGE_EVENTS, "response.incomplete"]);
    expect(events.at(-1)!.data.response).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } });
    const final = await (async () => {
      stack.fake.queue("*", { name: "text", text: "one two three four five six seven eight nine ten eleven twelve" });
      return stack.openai.responses.stream({ ...base, max_output_tokens: 3 }).finalResponse();
    })();
    expect(final.status).toBe("incomplete");
  });

  it("an upstream failure after output began: an error event, then response.failed last; the SDK raises APIError", async () => {
    stack.fake.queue("*", "session-ended");
    const { events } = await rawStream(base);
    const types = checkStream(events);
    expect(types.slice(-2)).toEqual(["error", "response.failed"]);
    const err = events.at(-2)!.data;
    expect(typeof err.message).toBe("string");
    const failed = events.at(-1)!.data.response;
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    stack.fake.queue("*", "session-ended");
    await expect(stack.openai.responses.stream(base).finalResponse()).rejects.toBeInstanceOf(APIError);
  });

  it("a silent upstream: the first keep-alive opens the response, later ones are comments; the grammar holds", async () => {
    await stack.server.deps.settings.update({ grok: { keepalive_interval: 1 } });
    try {
      stack.fake.queue("*", { name: "slow", delayMs: 2500 });
      const { events, raw } = await rawStream(base);
      expect(raw.startsWith("event: response.created\n")).toBe(true);
      expect(raw).toContain("\n\n: keep-alive\n\n");
      expect(raw.indexOf(": keep-alive")).toBeLessThan(raw.indexOf("event: response.output_item.added")); // opened by the silence, not by output
      expect(collapse(checkStream(events))).toEqual(["response.created", "response.in_progress", ...MESSAGE_EVENTS, "response.completed"]);
    } finally {
      await stack.server.deps.settings.update({ grok: { keepalive_interval: 15 } });
    }
  });

  it("served without the /v1 prefix too", async () => {
    const { status, events } = await rawStream(base, "/responses");
    expect(status).toBe(200);
    expect(checkStream(events).at(-1)).toBe("response.completed");
  });
});

describe("Responses tools", () => {
  it("function tool, non-stream: a function_call item; the round trip by resending items (store:false)", async () => {
    const prompts: string[] = [];
    stack.fake.respond(weatherModel(prompts));
    const first = await stack.openai.responses.create({ ...base, input: "Weather in Paris?", tools: [weather], store: false });
    validateResponse(first);
    expect(first.output.map((i) => i.type)).toEqual(["message", "function_call"]);
    expect(first.output_text).toBe("Let me check.");
    const call = first.output[1] as Obj;
    expect(call).toMatchObject({ type: "function_call", name: "get_weather", status: "completed" });
    expect(call.id).toMatch(/^fc_/);
    expect(call.call_id).toMatch(/^call_/);
    expect(JSON.parse(call.arguments)).toEqual({ city: "Paris" });
    expect(prompts[0]).toContain("get_weather");

    const second = await stack.openai.responses.create({
      ...base,
      store: false,
      tools: [weather],
      input: [{ role: "user", content: "Weather in Paris?" }, ...first.output, { type: "function_call_output", call_id: call.call_id, output: '{"sky":"sunny"}' }] as never,
    });
    validateResponse(second);
    expect(second.output_text).toBe("It is sunny in Paris.");
    expect(prompts[1]).toContain(`[tool result for ${call.call_id} (get_weather)]`);
    expect(prompts[1]).toContain('{"sky":"sunny"}');
  });

  it("function tool, stream: the message, then function_call added / arguments delta / done / item done, then completed", async () => {
    stack.fake.respond(weatherModel());
    const { events } = await rawStream({ ...base, input: "Weather in Paris?", tools: [weather] });
    const types = checkStream(events);
    expect(collapse(types)).toEqual([
      "response.created",
      "response.in_progress",
      ...MESSAGE_EVENTS,
      "response.output_item.added",
      "response.function_call_arguments.delta*",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const added = events.filter((e) => e.data.type === "response.output_item.added")[1]!.data;
    expect(added.output_index).toBe(1);
    expect(added.item).toMatchObject({ type: "function_call", name: "get_weather", arguments: "", status: "in_progress" });
    const args = events.filter((e) => e.data.type === "response.function_call_arguments.delta").map((e) => e.data.delta).join("");
    expect(JSON.parse(args)).toEqual({ city: "Paris" });
    const final = events.at(-1)!.data.response;
    expect(final.output[1]).toMatchObject({ type: "function_call", call_id: added.item.call_id, arguments: args, status: "completed" });
  });

  it("function tool round trip through previous_response_id; the SDK stream accumulates the call", async () => {
    const prompts: string[] = [];
    stack.fake.respond(weatherModel(prompts));
    const stream = stack.openai.responses.stream({ ...base, input: "Weather in Paris?", tools: [weather] });
    const first = await stream.finalResponse();
    const call = first.output.find((i) => i.type === "function_call") as Obj;
    expect(JSON.parse(call.arguments)).toEqual({ city: "Paris" });
    const second = await stack.openai.responses.create({ ...base, tools: [weather], previous_response_id: first.id, input: [{ type: "function_call_output", call_id: call.call_id, output: "sunny, 21°C" }] });
    expect(second.output_text).toBe("It is sunny in Paris.");
    expect(second.previous_response_id).toBe(first.id);
    expect(prompts[1]).toContain("Weather in Paris?");
    expect(prompts[1]).toContain(`[tool result for ${call.call_id} (get_weather)]\nsunny, 21°C`);
  });

  it("namespace, custom and local_shell tools: offered flat, answered as function_call{namespace}, custom_tool_call, local_shell_call", async () => {
    const prompts: string[] = [];
    stack.fake.respond((p) => {
      prompts.push(p);
      return envelope(
        { name: "agents__spawn_agent", arguments: { task: "lint" } },
        { name: "apply_patch", arguments: { input: "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n" } },
        { name: "local_shell", arguments: { command: ["ls", "-la"] } },
      );
    });
    const tools = [
      { type: "namespace", name: "agents", description: "Sub-agents", tools: [{ type: "function", name: "spawn_agent", description: "Spawn", strict: false, parameters: { type: "object", properties: { task: { type: "string" } }, required: ["task"] } }] },
      { type: "custom", name: "apply_patch", description: "Edit files", format: { type: "grammar", syntax: "lark", definition: 'start: "*** Begin Patch" /(.|\\n)*/' } },
      { type: "local_shell" },
      { type: "web_search", external_web_access: false },
      { type: "tool_search", execution: "client", description: "find tools", parameters: { type: "object", properties: {} } },
      { type: "image_generation" },
    ];
    const { events } = await rawStream({ ...base, input: "Do it", tools });
    const types = checkStream(events);
    expect(collapse(types)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.function_call_arguments.delta*",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.custom_tool_call_input.delta*",
      "response.custom_tool_call_input.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.output_item.done",
      "response.completed",
    ]);
    const out = events.at(-1)!.data.response.output;
    expect(out[0]).toMatchObject({ type: "function_call", namespace: "agents", name: "spawn_agent", arguments: '{"task":"lint"}' });
    expect(out[1]).toMatchObject({ type: "custom_tool_call", name: "apply_patch", input: "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n" });
    expect(out[2]).toMatchObject({ type: "local_shell_call", status: "completed", action: { type: "exec", command: ["ls", "-la"], env: {} } });
    expect(prompts[0]).toContain("agents__spawn_agent");
    expect(prompts[0]).toContain('Input format: {"type":"grammar","syntax":"lark","definition":"start: \\"*** Begin Patch\\"');
    expect(prompts[0]).not.toContain("tool_search");
    // The calls and their outputs resent (Codex style) become the history of the next turn.
    stack.fake.respond((p) => (prompts.push(p), "done"));
    const next = await stack.openai.responses.create({
      ...base,
      store: false,
      tools: tools as never,
      input: [
        { role: "user", content: "Do it" },
        ...out,
        { type: "function_call_output", call_id: out[0].call_id, output: "agent 7 started" },
        { type: "custom_tool_call_output", call_id: out[1].call_id, output: "Done!" },
        { type: "function_call_output", call_id: out[2].call_id, output: "total 0" },
      ] as never,
    });
    expect(next.output_text).toBe("done");
    const p = prompts.at(-1)!;
    expect(p).toContain("agents__spawn_agent");
    expect(p).toContain("agent 7 started");
    expect(p).toContain("Done!");
    expect(p).toContain("total 0");
  });

  it("a named tool_choice that is not declared is a 400; tool_choice none keeps the tools out of the prompt", async () => {
    const before = stack.fake.chatRequests().length;
    const res = await fetch(`${stack.url}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...base, tools: [weather], tool_choice: { type: "function", name: "nope" } }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Obj).error.param).toBe("tool_choice");
    expect(stack.fake.chatRequests().length).toBe(before);
    const prompts: string[] = [];
    stack.fake.respond((p) => void prompts.push(p));
    const r = await stack.openai.responses.create({ ...base, tools: [weather], tool_choice: "none" });
    expect(r.output_text).toBe(DEFAULT_TEXT);
    expect(prompts[0]).not.toContain("get_weather");
  });
});

describe("Responses state", () => {
  it("previous_response_id: the earlier input and output go first in the prompt; instructions do not carry over", async () => {
    const prompts: string[] = [];
    stack.fake.respond((p) => {
      prompts.push(p);
      return prompts.length === 1 ? "Nice to meet you, Ada." : "Your name is Ada.";
    });
    const first = await stack.openai.responses.create({ ...base, instructions: "Be brief.", input: "My name is Ada." });
    const second = await stack.openai.responses.create({ ...base, previous_response_id: first.id, input: "What is my name?" });
    validateResponse(second);
    expect(second.output_text).toBe("Your name is Ada.");
    expect(prompts[0]).toContain("Be brief.");
    const p = prompts[1]!;
    expect(p.indexOf("My name is Ada.")).toBeGreaterThanOrEqual(0);
    expect(p.indexOf("My name is Ada.")).toBeLessThan(p.indexOf("Nice to meet you, Ada."));
    expect(p.indexOf("Nice to meet you, Ada.")).toBeLessThan(p.indexOf("What is my name?"));
    expect(p).not.toContain("Be brief.");
    // a third turn sees the whole chain
    stack.fake.respond((q) => (prompts.push(q), "ok"));
    await stack.openai.responses.create({ ...base, previous_response_id: second.id, input: "Thanks" });
    expect(prompts[2]).toContain("My name is Ada.");
    expect(prompts[2]).toContain("Your name is Ada.");
  });

  it("GET, input_items and DELETE of a stored response", async () => {
    const created = await stack.openai.responses.create({ ...base, input: [{ role: "user", content: "first" }, { role: "user", content: [{ type: "input_text", text: "second" }] }] });
    const got = await stack.openai.responses.retrieve(created.id);
    validateResponse(got);
    expect(got.id).toBe(created.id);
    expect(got.output).toEqual(created.output);
    const items: Obj[] = [];
    for await (const it of stack.openai.responses.inputItems.list(created.id)) items.push(it as Obj);
    expect(items.map((i) => i.content)).toEqual([[{ type: "input_text", text: "second" }], "first"]); // newest first, as OpenAI's default order
    expect(items.every((i) => typeof i.id === "string" && i.type === "message")).toBe(true);
    const asc = await fetch(`${stack.url}/v1/responses/${created.id}/input_items?order=asc&limit=1`).then((r) => r.json() as Promise<Obj>);
    expect(asc).toMatchObject({ object: "list", has_more: true, first_id: items[1]!.id, last_id: items[1]!.id });
    const del = await stack.openai.responses.delete(created.id).withResponse();
    expect(del.response.status).toBe(200);
    const again = await fetch(`${stack.url}/v1/responses/${created.id}`);
    expect(again.status).toBe(404);
    const body = (await again.json()) as Obj;
    expect(body.error).toMatchObject({ type: "invalid_request_error", message: expect.stringContaining(created.id) });
    expect((await fetch(`${stack.url}/responses/${created.id}`, { method: "DELETE" })).status).toBe(404);
  });

  it("an unknown previous_response_id is a 404 naming it, and nothing reaches grok.com", async () => {
    const before = stack.fake.chatRequests().length;
    const id = `resp_${"0".repeat(48)}`;
    const err = await stack.openai.responses.create({ ...base, previous_response_id: id }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(404);
    expect((err as APIError).message).toContain(id);
    expect((err as APIError).param).toBe("previous_response_id");
    expect(stack.fake.chatRequests().length).toBe(before);
  });

  it("store:false keeps nothing: no GET, and a follow-up naming it is a 404", async () => {
    const r = await stack.openai.responses.create({ ...base, store: false });
    expect((r as unknown as Obj).store).toBe(false);
    expect((await fetch(`${stack.url}/v1/responses/${r.id}`)).status).toBe(404);
    const s = await stack.openai.responses.stream({ ...base, store: false }).finalResponse();
    expect((await fetch(`${stack.url}/v1/responses/${s.id}`)).status).toBe(404);
    const follow = await fetch(`${stack.url}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...base, previous_response_id: r.id }) });
    expect(follow.status).toBe(404);
    expect(await stack.server.deps.store.kvGet(`responses:${r.id}`)).toBeNull();
  });

  it("a streamed response is stored under the id its events carried", async () => {
    const { events } = await rawStream(base);
    const id = events[0]!.data.response.id;
    const got = (await fetch(`${stack.url}/v1/responses/${id}`).then((r) => r.json())) as Obj;
    expect(got).toEqual(events.at(-1)!.data.response);
  });
});

describe("Responses request validation", () => {
  const img = (url: string) => [{ role: "user", content: [{ type: "input_image", image_url: url, detail: "auto" }] }];
  it.each([
    ["no model", { input: "x" }, "model"],
    ["no input", { model: "grok-chat-fast" }, "input"],
    ["input not a string or list", { ...base, input: 5 }, "input"],
    ["bad role", { ...base, input: [{ role: "robot", content: "x" }] }, "input[0].role"],
    ["unknown item type", { ...base, input: [{ type: "telepathy" }] }, "input[0].type"],
    ["unknown content part", { ...base, input: [{ role: "user", content: [{ type: "input_video", url: "x" }] }] }, "input[0].content[0].type"],
    ["input_file", { ...base, input: [{ role: "user", content: [{ type: "input_file", file_id: "f" }] }] }, "input[0].content[0].type"],
    ["bad data URL", { ...base, input: img("data:image/png;base64,%%%") }, "input[0].content[0].image_url"],
    ["function_call without call_id", { ...base, input: [{ type: "function_call", name: "f", arguments: "{}" }] }, "input[0].call_id"],
    ["function tool without name", { ...base, tools: [{ type: "function", parameters: {} }] }, "tools[0].name"],
    ["chat-style function tool", { ...base, tools: [{ type: "function", function: { name: "f" } }] }, "tools[0].name"],
    ["custom tool with a bad format", { ...base, tools: [{ type: "custom", name: "c", format: { type: "xml" } }] }, "tools[0].format.type"],
    ["tool_choice of another shape", { ...base, tool_choice: 7 }, "tool_choice"],
    ["max_output_tokens 0", { ...base, max_output_tokens: 0 }, "max_output_tokens"],
    ["reasoning effort", { ...base, reasoning: { effort: "extreme" } }, "reasoning.effort"],
    ["reasoning summary", { ...base, reasoning: { summary: "long" } }, "reasoning.summary"],
    ["stream not a boolean", { ...base, stream: "yes" }, "stream"],
    ["store not a boolean", { ...base, store: "no" }, "store"],
    ["temperature", { ...base, temperature: "hot" }, "temperature"],
    ["include", { ...base, include: "reasoning.encrypted_content" }, "include"],
    ["metadata", { ...base, metadata: { a: 1 } }, "metadata"],
    ["conversation", { ...base, conversation: "conv_1" }, "conversation"],
    ["background", { ...base, background: true }, "background"],
    ["text.format", { ...base, text: { format: { type: "yaml" } } }, "text.format.type"],
  ])("%s → 400 naming %s, nothing sent upstream", async (_name, body, param) => {
    const before = stack.fake.chatRequests().length;
    const res = await fetch(`${stack.url}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(res.status).toBe(400);
    const err = (await res.json()) as Obj;
    expect(err.error).toMatchObject({ type: "invalid_request_error", param });
    expect(typeof err.error.message).toBe("string");
    expect(stack.fake.chatRequests().length).toBe(before);
  });

  it("an unknown model is a 404 in OpenAI's error shape; a bad key a 401", async () => {
    const res = await fetch(`${stack.url}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...base, model: "gpt-nope" }) });
    expect(res.status).toBe(404);
    expect(((await res.json()) as Obj).error).toMatchObject({ param: "model", code: "model_not_found" });
  });

  it("tolerates what it does not act on: unknown fields, unknown tool types, hosted tool_choice, Codex's extras", async () => {
    const r = await stack.openai.responses.create({
      ...base,
      input: [{ type: "message", role: "developer", id: "msg_dev", content: [{ type: "input_text", text: "Be kind." }], phase: "x" }, { role: "user", content: "hi", extra_field: 1 }],
      tools: [{ type: "mcp", server_label: "x", server_url: "https://example.org" }, { type: "file_search", vector_store_ids: ["v"] }, { type: "computer_use_preview", display_width: 1, display_height: 1, environment: "linux" }],
      tool_choice: { type: "web_search_preview" },
      prompt_cache_key: "k",
      client_metadata: { a: "b" },
      text: { verbosity: "low" },
      truncation: "auto",
      reasoning: { effort: "medium", summary: null },
      temperature: null,
      safety_identifier: "s",
    } as never);
    validateResponse(r);
    expect(r.output_text).toBe(DEFAULT_TEXT);
    expect(r.tools).toEqual([]);
  });

  it("input_image by data URL becomes an upload; text.format json_schema is asked of the model in words", async () => {
    const prompts: string[] = [];
    stack.fake.respond((p) => (prompts.push(p), '{"ok":true}'));
    const png = "iVBORw0KGgoAAAANSUhEUgAAAEAAAABACAIAAAAlC+aJAAAAPklEQVR4nO3OMQ0AAAjAMMC/5+GBj6RV0MzOZ2sDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA8NgBdNkBf6fKJ1IAAAAASUVORK5CYII="; // 64×64
    const before = stack.fake.requests.length;
    const r = await stack.openai.responses.create({
      ...base,
      input: [{ role: "user", content: [{ type: "input_text", text: "What is this?" }, { type: "input_image", image_url: `data:image/png;base64,${png}`, detail: "auto" }] }],
      text: { format: { type: "json_schema", name: "answer", schema: { type: "object", properties: { ok: { type: "boolean" } } } } },
    });
    expect(r.output_text).toBe('{"ok":true}');
    const upload = stack.fake.requests.slice(before).find((q) => q.path === "/http/upload-file-v2/direct");
    expect(upload).toBeTruthy();
    expect(upload!.rejected).toBeUndefined();
    expect(prompts[0]).toContain("[image #1]");
    expect(prompts[0]).toContain('"ok":{"type":"boolean"}');
  });
});
