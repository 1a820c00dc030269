import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../support/stack.js";
import { DEFAULT_USER_AGENT } from "../../src/server/config/settings-schema.js";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ accounts: ["super"], settings: { cf_clearance: "cf_clearance=abc123; __cf_bm=bm1; other=zzz" } });
});
afterAll(async () => stack?.close());
beforeEach(() => stack.fake.reset());

const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const conversation = [
  { role: "system" as const, content: "You are terse." },
  { role: "user" as const, content: "Hi" },
  { role: "assistant" as const, content: "Hello!" },
  { role: "user" as const, content: "Say hi" },
];
const flattened = "[system]\nYou are terse.\n\n[user]\nHi\n\n[assistant]\nHello!\n\n[user]\nSay hi";

describe("what grok.com receives", () => {
  it("gateway: session lookup, cookies with x-userid, origin, mode id and the flattened prompt", async () => {
    await stack.server.deps.settings.update({ grok: { chat_transport: "gateway" } });
    await stack.openai.chat.completions.create({ model: "grok-4-expert", messages: conversation });
    const acc = stack.accounts[0]!;
    const ws = stack.fake.chatRequests()[0]!;
    expect(ws.transport).toBe("ws");
    expect(ws.path).toBe("/ws/mgw/");
    expect(ws.query.uid).toBe(acc.userId);
    expect(ws.cookies).toMatchObject({ sso: acc.sso, "sso-rw": acc.sso, "x-userid": acc.userId, cf_clearance: "abc123", __cf_bm: "bm1" });
    expect(ws.cookies.other).toBeUndefined();
    expect(ws.headers.origin).toBe(stack.fake.url);
    expect(ws.headers["user-agent"]).toBe(DEFAULT_USER_AGENT);
    expect(ws.headers["x-statsig-id"]).toBeUndefined();
    const [create, item, respond] = ws.wsMessages as Array<{ session_id?: string; event: Record<string, any> }>;
    expect(create!.event.type).toBe("session.create");
    expect(create!.event.session.model).toBe("expert");
    expect(create!.event.session.x_grok).toMatchObject({ use_chunk: true, is_temporary: true, disable_memory: true });
    expect(item!.event.type).toBe("conversation.item.create");
    expect(item!.event.item.x_grok.input_chunks).toEqual([{ text: { text: flattened } }]);
    expect(item!.event.item.x_grok.client_message_id).toMatch(uuidV4);
    expect(respond!.event.type).toBe("response.create");
    expect(item!.session_id).toBe(respond!.session_id);
    const session = stack.fake.requests.find((r) => r.path === "/api/auth/session")!;
    expect(session.headers.origin).toBeUndefined();
    expect(session.headers["sec-ch-ua"]).toContain('v="142"');
  });

  it("REST: statsig x1: value, request id, client hints agreeing with the UA, modeId body", async () => {
    await stack.server.deps.settings.update({ grok: { chat_transport: "rest" } });
    await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: conversation });
    await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: conversation });
    const [a, b] = stack.fake.chatRequests();
    expect(a!.path).toBe("/rest/app-chat/conversations/new");
    const statsig = Buffer.from(a!.headers["x-statsig-id"]!, "base64").toString("utf8");
    expect(statsig).toMatch(/^x1:TypeError: Cannot read properties of (null|undefined)/);
    expect(a!.headers["x-xai-request-id"]).toMatch(uuidV4);
    expect(a!.headers["x-xai-request-id"]).not.toBe(b!.headers["x-xai-request-id"]);
    expect(a!.headers["sec-ch-ua"]).toBe('"Google Chrome";v="142", "Chromium";v="142", "Not(A:Brand";v="24"');
    expect(a!.headers["sec-ch-ua-platform"]).toBe('"macOS"');
    expect(a!.headers.origin).toBe(stack.fake.url);
    expect(a!.headers.referer).toBe(`${stack.fake.url}/`);
    expect(a!.cookies).toMatchObject({ sso: stack.accounts[0]!.sso, "sso-rw": stack.accounts[0]!.sso });
    const body = a!.body as Record<string, unknown>;
    expect(body.modeId).toBe("fast");
    expect(body.modelName).toBeUndefined();
    expect(body.message).toBe(flattened);
    expect(body.temporary).toBe(true);
    expect(a!.rejected).toBeUndefined();
  });

  it("static and signed statsig modes", async () => {
    await stack.server.deps.settings.update({ grok: { chat_transport: "rest", statsig_mode: "static", x_statsig_id: Buffer.from("x1:static value").toString("base64") } });
    await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: conversation });
    expect(stack.fake.chatRequests()[0]!.headers["x-statsig-id"]).toBe(Buffer.from("x1:static value").toString("base64"));

    stack.fake.reset();
    await stack.server.deps.settings.update({ grok: { statsig_mode: "signed", statsig_signer_url: stack.fake.signerUrl } });
    await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: conversation });
    const signed = stack.fake.chatRequests()[0]!.headers["x-statsig-id"]!;
    expect(Buffer.from(signed, "base64").length).toBe(70);
    const sign = stack.fake.requests.find((r) => r.path === "/sign")!;
    expect(sign.body).toMatchObject({ method: "POST", path: "/rest/app-chat/conversations/new", environment: { metaContent: "meta-1" } });
    // cached: a second request signs nothing new
    await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: conversation });
    expect(stack.fake.requests.filter((r) => r.path === "/sign")).toHaveLength(1);
    await stack.server.deps.settings.update({ grok: { statsig_mode: "dynamic" } });
  });

  it("legacy e: statsig values are rejected upstream with the anti-bot signature", async () => {
    await stack.server.deps.settings.update({ grok: { chat_transport: "rest", statsig_mode: "dynamic", statsig_prefix: "e:" } });
    const err = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: conversation }).catch((e) => e);
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/anti-bot/);
    await stack.server.deps.settings.update({ grok: { statsig_prefix: "x1:" } });
  });

  it("auto transport falls back to REST when the gateway handshake is refused", async () => {
    await stack.server.deps.settings.update({ grok: { chat_transport: "auto" } });
    stack.fake.queue("*", "403-html");
    const r = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: conversation });
    expect(r.choices[0]!.message.content).toBeTruthy();
    const turns = stack.fake.chatRequests();
    expect(turns.map((t) => t.transport)).toEqual(["ws", "http"]);
    expect(turns[0]!.account).toBe(turns[1]!.account);
  });

  it("the fetch transport sends the same identity", async () => {
    const other = await startStack({ accounts: 1, transport: "fetch", settings: { chat_transport: "rest" } });
    try {
      await other.openai.chat.completions.create({ model: "grok-chat-fast", messages: conversation });
      const req = other.fake.chatRequests()[0]!;
      expect(req.rejected).toBeUndefined();
      expect(req.headers["user-agent"]).toBe(DEFAULT_USER_AGENT);
      expect(req.headers["accept-encoding"]).toBe("gzip, deflate, br");
    } finally {
      await other.close();
    }
  });
});
