import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeAccount, FakeGrok } from "./index.js";
import { DEFAULT_REASONING, DEFAULT_TEXT, MARKUP_TEXT, SPLIT_UTF8_TEXT, USAGE_LIMIT_MESSAGE, loadGateway, startFakeGrok, stripMarkup } from "./index.js";
import {
  gatewayTurn, itemCreate, normalizeIds, openWs, rawWebSocket, responseCreate, sessionCreate, wsHeaders, type WsClient,
} from "./test-helpers.js";

let fake: FakeGrok;
let acc: FakeAccount;

beforeAll(async () => {
  fake = await startFakeGrok();
  acc = fake.addAccount({ tier: "super" });
});
afterAll(() => fake.close());
beforeEach(async () => {
  fake.reset();
  // sockets closed by the previous test finish their close handshake asynchronously
  for (let i = 0; i < 100 && fake.openConnections() > 0; i++) await new Promise((r) => setTimeout(r, 10));
});

const types = (events: any[]) => events.map((e) => e.event.type);
const chunkText = (events: any[], channel = "CHANNEL_ASSISTANT_RESPONSE") =>
  events.filter((e) => e.event.type === "response.chunk" && e.event.chunk.text?.channel === channel).map((e) => e.event.chunk.text.text).join("");
/** Event kinds with consecutive repeats collapsed: response.chunk:<key>/<channel>. */
const shape = (events: any[]) => {
  const out: string[] = [];
  for (const e of events) {
    const ev = e.event;
    let k = ev.type as string;
    if (k === "response.chunk") k += ":" + Object.keys(ev.chunk).filter((x) => x !== "metadata").join(",") + (ev.chunk.text ? "/" + ev.chunk.text.channel : "");
    if (k === "response.grok.output") k += ":" + Object.keys(ev.output).join(",");
    if (k === "response.output_text.delta") k += ev.x_grok?.is_thinking ? ":thinking" : ":answer";
    if (out[out.length - 1] !== k) out.push(k);
  }
  return out;
};

/** Sends a transcript's client frames, substituting the live session id; returns all server frames. */
async function replay(name: string): Promise<{ c: WsClient; server: any[] }> {
  const fx = loadGateway(name);
  const c = await openWs(fake, acc);
  const fixtureSession = fx.server[0]!.session_id as string;
  let live = "";
  for (const msg of fx.client) {
    const m = JSON.parse(JSON.stringify(msg).replaceAll(fixtureSession, live));
    c.send(m);
    if (m.event.type === "session.create") live = (await c.waitType("session.created")).session_id;
  }
  await c.waitType("response.done");
  return { c, server: c.messages };
}

describe("gateway transcripts (fixtures are what the fake sends)", () => {
  it("§3.11 plain answer: identical to gw-text.jsonl modulo ids", async () => {
    const { c, server } = await replay("gw-text.jsonl");
    expect(normalizeIds(server)).toEqual(normalizeIds(loadGateway("gw-text.jsonl").server));
    const sessionId = server[0].session_id;
    expect(server[1].event.conversation.id).toBe(sessionId); // session id = conversation id
    const responseId = server.at(-1).event.response.id;
    expect(responseId).not.toBe(sessionId);
    expect(chunkText(server)).toBe(DEFAULT_TEXT);
    c.close();
  });

  it("§3.12 thinking + search + citations: same event shape as gw-thinking-search.jsonl", async () => {
    fake.queue(acc.sso, "search");
    const { c, server } = await replay("gw-thinking-search.jsonl");
    expect(shape(server)).toEqual(shape(loadGateway("gw-thinking-search.jsonl").server));
    expect(server[0].event.session).toEqual({ model: "expert" });
    expect(chunkText(server, "CHANNEL_ANALYSIS")).toBe(DEFAULT_REASONING);
    expect(chunkText(server)).toBe(DEFAULT_TEXT);
    const tool = server.find((e) => e.event.chunk?.tool_usage_card).event.chunk.tool_usage_card;
    const result = server.find((e) => e.event.chunk?.tool_result).event.chunk.tool_result;
    expect(result.tool_call_id).toBe(tool.tool_usage_card_id);
    expect(tool.web_search.args.query).toBe("average distance earth moon");
    const cites = server.filter((e) => e.event.chunk?.render_citation).map((e) => e.event.chunk.render_citation.url);
    expect(cites).toEqual(["https://example.org/moon", "https://example.net/orbit"]);
    c.close();
  });

  it("§3.13 Lite image: identical to gw-image-lite.jsonl except the real preview bytes; assets downloadable", async () => {
    const { c, server } = await replay("gw-image-lite.jsonl");
    const norm = (x: unknown) => JSON.parse(JSON.stringify(normalizeIds(x)).replace(/data:image\/jpeg;base64,[A-Za-z0-9+/=]+/g, "data:…"));
    expect(norm(server)).toEqual(norm(loadGateway("gw-image-lite.jsonl").server));
    const chunks = server.map((e) => e.event.output?.card_attachment?.jsonData?.image_chunk).filter(Boolean);
    const preview = chunks[0].imageUrl as string;
    expect(Buffer.from(preview.split(",")[1]!, "base64").subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const final = chunks[1].imageUrl as string;
    expect(final).toBe(`users/${acc.userId}/generated/${chunks[1].imageUuid}/image.jpg`);
    const img = await fetch(`${fake.assetsUrl}/${final}`, { headers: { cookie: `sso=${acc.sso}; sso-rw=${acc.sso}` } });
    expect(img.headers.get("content-type")).toBe("image/jpeg");
    expect(fake.chatRequests().at(-1)!.scenario).toBe("image-gen");
    c.close();
  });

  it("non-chunk family: Realtime-style item, commands.updated, output_text deltas, same shape as gw-non-chunk.jsonl", async () => {
    fake.queue(acc.sso, "search");
    const { c, server } = await replay("gw-non-chunk.jsonl");
    expect(shape(server)).toEqual(shape(loadGateway("gw-non-chunk.jsonl").server));
    const deltas = server.filter((e) => e.event.type === "response.output_text.delta");
    expect(deltas.filter((d) => d.event.x_grok.is_thinking).map((d) => d.event.delta).join("")).toBe(DEFAULT_REASONING);
    const answer = deltas.filter((d) => !d.event.x_grok.is_thinking).map((d) => d.event.delta).join("");
    expect(stripMarkup(answer)).toBe(DEFAULT_TEXT);
    expect(server.find((e) => e.event.type === "response.output_text.done").event.text).toBe(answer);
    expect(server.some((e) => e.event.type === "response.chunk")).toBe(false);
    c.close();
  });
});

describe("gateway without x_grok ([3P-2026] clients)", () => {
  it("no conversation.attached, commands.updated, Realtime-style deltas; regeneration via response.create", async () => {
    const c = await openWs(fake, acc);
    c.send({ event: { type: "session.create", event_id: "evt_init_1", session: { model: "fast" } } });
    const created = await c.waitType("session.created");
    await c.waitType("conversation.commands.updated");
    const sid = created.session_id;
    c.send({ session_id: sid, event: { type: "conversation.item.create", event_id: "evt_msg_1", item: { type: "message", role: "user", content: [{ type: "input_text", text: "Say hi" }] } } });
    c.send({ session_id: sid, event: { type: "response.create", event_id: "evt_resp_1", response: { model: "fast" } } });
    const done = await c.waitType("response.done");
    expect(c.messages.some((m) => m.event.type === "conversation.attached")).toBe(false);
    const deltas = c.messages.filter((m) => m.event.type === "response.output_text.delta");
    expect(deltas.map((d) => d.event.delta).join("")).toBe(DEFAULT_TEXT);
    expect(deltas.every((d) => d.event.x_grok.is_thinking === false)).toBe(true);
    expect(c.messages.find((m) => m.event.type === "response.completed").event.response.id).toBe(done.event.response.id);
    const n = c.messages.length;
    c.send({ session_id: sid, event: { type: "response.create", event_id: "evt_resp_2", parent_response_id: done.event.response.id } });
    await c.waitFor((m) => m.event.type === "response.done" && m.event.response.id !== done.event.response.id);
    expect(c.messages.length).toBeGreaterThan(n);
    c.close();
  });
});

describe("gateway scripts", () => {
  it("thinking: phase markers, notetaker header, analysis channel, then the answer", async () => {
    fake.queue(acc.sso, "thinking");
    const { client, events } = await gatewayTurn(fake, acc, "[user]\nthink", "expert");
    expect(shape(events)).toEqual([
      "response.created", "response.chunk:phase_marker", "response.chunk:text/CHANNEL_ASSISTANT_NOTETAKER_HEADER", "response.chunk:text/CHANNEL_ANALYSIS",
      "response.chunk:phase_marker", "response.chunk:text/CHANNEL_ASSISTANT_RESPONSE", "response.done",
    ]);
    expect(chunkText(events, "CHANNEL_ANALYSIS")).toBe(DEFAULT_REASONING);
    client.close();
  });

  it("search-tags: in-text <grok:render> split across chunks, card_attachment after the tag", async () => {
    fake.queue(acc.sso, "search-tags");
    const { client, events } = await gatewayTurn(fake, acc);
    const text = chunkText(events);
    expect(text).toMatch(/<grok:render card_id="b086be"/);
    expect(stripMarkup(text)).toBe(DEFAULT_TEXT);
    expect(events.some((e) => e.event.chunk?.render_citation)).toBe(false);
    const tagStart = events.findIndex((e) => String(e.event.chunk?.text?.text).startsWith("<grok:render"));
    const card = events.findIndex((e) => e.event.output?.card_attachment?.jsonData?.id === "b086be");
    expect(card).toBeGreaterThan(tagStart + 1);
    expect(events[tagStart].event.chunk.text.text).not.toContain("</grok:render>");
    client.close();
  });

  it("search-no-tool-call-id: tool_result without tool_call_id", async () => {
    fake.queue(acc.sso, "search-no-tool-call-id");
    const { client, events } = await gatewayTurn(fake, acc);
    const r = events.find((e) => e.event.chunk?.tool_result).event.chunk.tool_result;
    expect("tool_call_id" in r).toBe(false);
    expect(r.web_search.webpages).toHaveLength(2);
    client.close();
  });

  it("markup and moderated", async () => {
    fake.queue(acc.sso, "markup", "moderated");
    const m = await gatewayTurn(fake, acc);
    expect(chunkText(m.events)).toBe(MARKUP_TEXT);
    m.client.close();
    const mod = await gatewayTurn(fake, acc);
    const finals = mod.events.map((e) => e.event.output?.card_attachment?.jsonData).filter((j) => j && typeof j === "object" && j.image_chunk?.progress === 100);
    expect(finals.length).toBe(2);
    expect(finals.every((j) => j.image_chunk.moderated === true)).toBe(true);
    mod.client.close();
  });

  it("empty-success, status-not-completed, stream-errors, in-stream-rate-limit, usage-limit, code 7", async () => {
    fake.queue(acc.sso, "empty-success", "status-not-completed", "stream-errors", "in-stream-rate-limit", "usage-limit", "403-json-code7", "403-json-code7-in-stream");
    const empty = await gatewayTurn(fake, acc);
    expect(types(empty.events)).toEqual(["response.created", "response.done"]);
    expect(empty.events[1].event.response.status).toBe("completed");
    const failed = await gatewayTurn(fake, acc);
    expect(chunkText(failed.events)).toBe(DEFAULT_TEXT);
    expect(failed.events.at(-1).event.response.status).toBe("failed");
    const se = await gatewayTurn(fake, acc);
    expect(se.events[1].event.output.stream_error).toEqual({ message: "Model overloaded", kind: "internal", code: 14 });
    const rl = await gatewayTurn(fake, acc);
    expect(rl.events[1].event.output.stream_error.message).toBe(USAGE_LIMIT_MESSAGE);
    expect(rl.events.at(-1).event.response.status).toBe("failed");
    const ul = await gatewayTurn(fake, acc);
    expect(ul.events).toEqual([{ session_id: ul.sessionId, event: { type: "error", error: { code: "rate_limited", message: USAGE_LIMIT_MESSAGE } } }]);
    const c7 = await gatewayTurn(fake, acc);
    expect(c7.events[0].event.error).toEqual({ code: 7, message: "Request rejected by anti-bot rules." });
    const c7s = await gatewayTurn(fake, acc);
    expect(types(c7s.events)).toEqual(["response.created", "error"]);
    expect(c7s.events[1].event.error.code).toBe("anti_bot");
    for (const t of [empty, failed, se, rl, ul, c7, c7s]) t.client.close();
  });

  it("slow honours delayMs", async () => {
    fake.queue(acc.sso, { name: "slow", delayMs: 50 });
    const t0 = Date.now();
    const { client, events } = await gatewayTurn(fake, acc);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(50 * (events.length - 1) - 5);
    client.close();
  });
});

describe("gateway handshake failures", () => {
  const cases: Array<[string, number, (body: string, h: Record<string, any>) => void]> = [
    ["http-429", 429, (b) => expect(JSON.parse(b)).toEqual({ error: { code: 8, message: "Too many requests", details: [] } })],
    ["http-401", 401, (b) => expect(JSON.parse(b).error.code).toBe(16)],
    ["403-html", 403, (b, h) => {
      expect(b).toContain("Just a moment...");
      expect(h.server).toBe("cloudflare");
      expect(h["cf-ray"]).toBeTruthy();
    }],
    ["403-empty", 403, (b) => expect(b).toBe("")],
    ["403-blocked", 403, (b) => expect(JSON.parse(b).message).toContain("blocked-user")],
    ["http-500", 500, (b) => expect(JSON.parse(b).error.code).toBe(13)],
  ];
  for (const [name, status, check] of cases) {
    it(`${name}: handshake answered with HTTP ${status}`, async () => {
      fake.queue(acc.sso, name as never);
      const err: any = await openWs(fake, acc).catch((e) => e);
      expect(err.status).toBe(status);
      check(err.body, err.headers);
      expect(fake.chatRequests().at(-1)!.scenario).toBe(name);
    });
  }

  it("validates Origin, cookies, uid and x-userid", async () => {
    const bad = async (opts: Parameters<typeof openWs>[2]) => ((await openWs(fake, acc, opts).catch((e) => e)) as any).status;
    expect(await bad({ headers: { origin: "https://grok.com" } })).toBe(403);
    expect(await bad({ headers: { cookie: `sso=${acc.sso}; sso-rw=${acc.sso}` } })).toBe(401); // no x-userid
    expect(await bad({ uid: "5c3f0a2e-1111-4a2b-9c3d-000000000001" })).toBe(401);
    expect(await bad({ headers: { cookie: `sso=${acc.sso}; sso-rw=${acc.sso}; x-userid=5c3f0a2e-1111-4a2b-9c3d-000000000001` } })).toBe(401);
    expect(await bad({ path: "/ws/mgw/" })).toBe(401);
    expect(await bad({ path: `/ws/mgw?uid=${acc.userId}` })).toBe(404);
    const blocked = fake.addAccount({ session: "blocked" });
    const b: any = await openWs(fake, blocked).catch((e) => e);
    expect(b.status).toBe(403);
    expect(b.body).toContain("blocked-user");
    expect(fake.requests.filter((r) => r.transport === "ws" && r.rejected).length).toBe(7);
  });

  it("accepts the json subprotocol and needs no statsig", async () => {
    const c = await openWs(fake, acc, { protocols: ["json"] });
    expect(c.ws.protocol).toBe("json");
    expect(fake.chatRequests().at(-1)!.headers["x-statsig-id"]).toBeUndefined();
    c.close();
  });
});

describe("gateway sequence validation and continuation", () => {
  it("rejects items before a session, unknown models, bad items and unknown files", async () => {
    const c = await openWs(fake, acc);
    c.send(itemCreate("nope", "hi"));
    expect((await c.waitType("error")).event.error.code).toBe(3);
    c.send(sessionCreate("turbo"));
    await c.waitFor((m) => m.event?.error?.message?.includes("turbo"));
    c.send(sessionCreate("fast"));
    const sid = (await c.waitType("session.created")).session_id;
    const errs = () => c.messages.filter((m) => m.event?.type === "error").length;
    const before = errs();
    c.send({ session_id: sid, event: { type: "conversation.item.create", item: { type: "message", role: "user", x_grok: { client_message_id: "not-a-uuid", input_chunks: [{ text: { text: "x" } }] } } } });
    c.send(itemCreate(sid, "x", { file_attachment_ids: ["3f1c0d7e-0000-4000-8000-0000000000f1"] }));
    c.send({ session_id: sid, event: { type: "conversation.item.create", item: { type: "message", role: "user", x_grok: { client_message_id: crypto.randomUUID(), input_chunks: [{ mention: { target: { file_mention: { file_id: "f1" } } } }, { text: { text: "x" } }] } } } });
    c.send(responseCreate(sid));
    await c.waitFor(() => errs() >= before + 4);
    expect(fake.chatRequests().at(-1)!.rejected?.status).toBe(400);
    c.close();
  });

  it("continues a conversation with load_existing and parent_response_id", async () => {
    const first = await gatewayTurn(fake, acc);
    const conv = first.sessionId;
    const parent = first.events.at(-1).event.response.id;
    first.client.close();
    const c = await openWs(fake, acc);
    c.send(sessionCreate("fast", { conversation_id: conv, load_existing: true, needs_history: false, is_temporary: undefined, keep_context: undefined, disable_memory: undefined }, { session_id: conv }));
    expect((await c.waitType("session.created")).session_id).toBe(conv);
    expect((await c.waitType("conversation.attached")).event.conversation.id).toBe(conv);
    c.send(itemCreate(conv, "again", { parent_response_id: "6f1d2c3b-8e4a-4b5c-9d0e-1f2a3b4c5d6e" }));
    expect((await c.waitType("error")).event.error.message).toContain("not the last response");
    c.send(itemCreate(conv, "again", { parent_response_id: parent }));
    c.send(responseCreate(conv));
    const done = await c.waitType("response.done");
    expect(done.event.response.status).toBe("completed");
    expect(done.event.response.id).not.toBe(parent);
    c.close();
  });

  it("answers conversation_not_found for unknown conversations and when queued", async () => {
    const c = await openWs(fake, acc);
    c.send(sessionCreate("fast", { conversation_id: "6f1d2c3b-8e4a-4b5c-9d0e-1f2a3b4c5d6e", load_existing: true }, { session_id: "6f1d2c3b-8e4a-4b5c-9d0e-1f2a3b4c5d6e" }));
    expect((await c.waitType("error")).event.error.code).toBe("conversation_not_found");
    c.close();
    const first = await gatewayTurn(fake, acc);
    first.client.close();
    fake.queue(acc.sso, "conversation-not-found");
    const d = await openWs(fake, acc);
    d.send(sessionCreate("fast", { conversation_id: first.sessionId, load_existing: true }, { session_id: first.sessionId }));
    expect((await d.waitType("error")).event.error).toEqual({ code: "conversation_not_found", message: "Conversation not found" });
    d.close();
  });

  it("records client messages and ping cadence; several sessions on one connection", async () => {
    const c = await openWs(fake, acc);
    c.send({ event: { type: "ping", event_id: `evt_hb_${Date.now()}` } });
    for (const text of ["one", "two"]) {
      c.send(sessionCreate("fast"));
      await c.waitFor((m) => m.event?.type === "session.created" && !c.messages.some((x) => x.event?.type === "response.done" && x.session_id === m.session_id));
      const sid = c.messages.filter((m) => m.event?.type === "session.created").at(-1).session_id;
      c.send(itemCreate(sid, text));
      c.send(responseCreate(sid));
      await c.waitFor((m) => m.event?.type === "response.done" && m.session_id === sid);
    }
    c.send({ event: { type: "ping", event_id: `evt_hb_${Date.now()}` } });
    await new Promise((r) => setTimeout(r, 30));
    const rec = fake.chatRequests().at(-1)!;
    expect(rec.wsPings).toHaveLength(2);
    expect(rec.wsMessages!.map((m: any) => m.event.type)).toEqual(["ping", "session.create", "conversation.item.create", "response.create", "session.create", "conversation.item.create", "response.create", "ping"]);
    expect(rec.scenarios).toEqual(["text", "text"]);
    expect(c.messages.some((m) => m.event?.type === "pong")).toBe(false);
    c.close();
  });
});

describe("gateway connection failures", () => {
  it("dropped: abrupt 1006 termination (or 1011) after the first chunk", async () => {
    fake.queue(acc.sso, "dropped", { name: "dropped", variant: "1011" });
    for (const code of [1006, 1011]) {
      const c = await openWs(fake, acc);
      c.send(sessionCreate());
      const sid = (await c.waitType("session.created")).session_id;
      c.send(itemCreate(sid, "x"));
      c.send(responseCreate(sid));
      expect(await c.closed).toBe(code);
      expect(c.messages.filter((m) => m.event.type === "response.chunk")).toHaveLength(1);
      expect(c.messages.some((m) => m.event.type === "response.done")).toBe(false);
    }
  });

  it("session-ended before response.done", async () => {
    fake.queue(acc.sso, "session-ended");
    const c = await openWs(fake, acc);
    c.send(sessionCreate());
    const sid = (await c.waitType("session.created")).session_id;
    c.send(itemCreate(sid, "x"));
    c.send(responseCreate(sid));
    await c.waitType("session.ended");
    expect(types(c.messages.slice(2))).toEqual(["response.created", "response.chunk", "session.ended"]);
    c.close();
  });

  it("stalled: created/attached then silence; client close recorded", async () => {
    fake.queue(acc.sso, "stalled");
    const c = await openWs(fake, acc);
    c.send(sessionCreate());
    const sid = (await c.waitType("conversation.attached")).session_id;
    c.send(itemCreate(sid, "x"));
    c.send(responseCreate(sid));
    await new Promise((r) => setTimeout(r, 200));
    expect(types(c.messages)).toEqual(["session.created", "conversation.attached"]);
    expect(fake.openConnections()).toBe(1);
    c.close();
    await c.closed;
    await new Promise((r) => setTimeout(r, 30));
    expect(fake.openConnections()).toBe(0);
    expect(fake.chatRequests().at(-1)!.clientClosedEarly).toBe(true);
  });

  it("stalled-after-first: silence after the first chunk", async () => {
    fake.queue(acc.sso, "stalled-after-first");
    const c = await openWs(fake, acc);
    c.send(sessionCreate());
    const sid = (await c.waitType("session.created")).session_id;
    c.send(itemCreate(sid, "x"));
    c.send(responseCreate(sid));
    await c.waitType("response.chunk");
    await new Promise((r) => setTimeout(r, 150));
    expect(types(c.messages)).toEqual(["session.created", "conversation.attached", "response.created", "response.chunk"]);
    c.close();
  });

  it("split-utf8: messages arrive as text + continuation frames cut inside characters", async () => {
    fake.queue(acc.sso, "split-utf8");
    const raw = await rawWebSocket(fake, `/ws/mgw/?uid=${acc.userId}`, wsHeaders(fake, acc, true));
    const assemble = () => {
      const out: Buffer[][] = [];
      let cur: Buffer[] = [];
      for (const f of raw.frames) {
        cur.push(f.payload);
        if (f.fin) {
          out.push(cur);
          cur = [];
        }
      }
      return out;
    };
    raw.send(sessionCreate());
    await raw.waitFrames(() => assemble().length >= 2);
    const sid = JSON.parse(raw.frames[0]!.payload.toString()).session_id;
    raw.send(itemCreate(sid, "x"));
    raw.send(responseCreate(sid));
    await raw.waitFrames(() => assemble().some((m) => Buffer.concat(m).toString().includes("response.done")));
    const messages = assemble();
    const fragmented = messages.filter((m) => m.length > 1);
    expect(fragmented.length).toBeGreaterThan(5);
    expect(raw.frames.filter((f) => f.opcode === 0).length).toBeGreaterThan(5); // continuation frames
    const insideChar = fragmented.flatMap((m) => m.slice(1)).filter((p) => (p[0]! & 0xc0) === 0x80);
    expect(insideChar.length).toBeGreaterThan(3);
    const text = messages.map((m) => JSON.parse(Buffer.concat(m).toString("utf8"))).filter((m) => m.event.type === "response.chunk").map((m) => m.event.chunk.text.text).join("");
    expect(text).toBe(SPLIT_UTF8_TEXT);
    raw.close();
  });

  it("close() terminates open sockets and leaves nothing running", async () => {
    const local = await startFakeGrok();
    const a = local.addAccount();
    local.queue(a.sso, "stalled");
    const c = await openWs(local, a);
    c.send(sessionCreate());
    await c.waitType("conversation.attached");
    expect(local.openConnections()).toBe(1);
    await local.close();
    expect(await c.closed).toBe(1006);
    expect(local.openConnections()).toBe(0);
  });
});
