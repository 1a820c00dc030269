import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeAccount, FakeGrok } from "./index.js";
import { DEFAULT_REASONING, DEFAULT_TEXT, MARKUP_TEXT, SPLIT_UTF8_TEXT, loadRest, startFakeGrok, stripMarkup } from "./index.js";
import { chatBody, cookieFor, frames, newChat, normalizeIds, parseObjects, postJson, readAll, UA } from "./test-helpers.js";

let fake: FakeGrok;
let acc: FakeAccount;

beforeAll(async () => {
  fake = await startFakeGrok();
  acc = fake.addAccount({ tier: "super" });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const resp = (f: any) => f.result?.response ?? {};
const answer = (fr: any[]) => fr.filter((f) => typeof resp(f).token === "string" && !resp(f).isThinking && resp(f).messageTag !== "tool_usage_card").map((f) => resp(f).token).join("");
const reasoning = (fr: any[]) => fr.filter((f) => resp(f).isThinking && resp(f).messageTag === "assistant").map((f) => resp(f).token).join("");

/** Frames with volatile values (ids, times) normalised, for comparing with a fixture. */
function comparable(fr: any[]): unknown {
  const copy = JSON.parse(JSON.stringify(fr));
  for (const f of copy) {
    const c = f.result?.conversation;
    if (c?.createTime) c.createTime = c.modifyTime = "T";
    for (const k of ["userResponse", "modelResponse"]) if (resp(f)[k]?.createTime) resp(f)[k].createTime = "T";
  }
  return normalizeIds(copy);
}

describe("REST conversations/new scripts", () => {
  it("text: replays §4.6 a exactly (modulo ids/times) with the default text", async () => {
    const r = await newChat(fake, acc, "Say hi");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    const { text } = await readAll(r);
    expect(text.endsWith("\n")).toBe(true);
    expect(text.split("\n").filter(Boolean)).toHaveLength(8); // one object per line, no [DONE]
    const fr = parseObjects(text);
    const fixture = loadRest("rest-text.ndjson").frames;
    expect(comparable(fr)).toEqual(comparable(fixture));
    expect(answer(fr)).toBe(DEFAULT_TEXT);
    expect(fr.filter((f) => resp(f).token !== undefined && resp(f).token !== "").map((f) => resp(f).token)).toEqual(["Hi", " there!"]);
    const conv = fr[0].result.conversation.conversationId;
    const user = resp(fr[1]).responseId;
    const model = resp(fr[6]).modelResponse;
    expect(new Set([conv, user, model.responseId]).size).toBe(3);
    expect(model.parentResponseId).toBe(user);
  });

  it("text: uses the queued text, echoes the prompt and the legacy model name", async () => {
    fake.queue(acc.sso, { name: "text", text: "alpha beta  gamma " });
    const fr = await frames(await postJson(fake, acc, "/rest/app-chat/conversations/new", { ...chatBody("ping"), modeId: undefined, modelName: "grok-3", modelMode: "MODEL_MODE_FAST" }));
    expect(answer(fr)).toBe("alpha beta  gamma ");
    expect(resp(fr[1]).userResponse.message).toBe("ping");
    expect(resp(fr[1]).userResponse.model).toBe("grok-3");
    expect(resp(fr.at(-2)).modelResponse.message).toBe("alpha beta  gamma ");
  });

  it("thinking: header + reasoning tokens (isThinking) before final tokens", async () => {
    fake.queue(acc.sso, "thinking");
    const fr = await frames(await newChat(fake, acc));
    const header = fr.find((f) => resp(f).messageTag === "header");
    expect(resp(header).isThinking).toBe(true);
    expect(reasoning(fr)).toBe(DEFAULT_REASONING);
    expect(answer(fr)).toBe(DEFAULT_TEXT);
    const firstFinal = fr.findIndex((f) => resp(f).messageTag === "final");
    const lastThought = fr.map((f) => resp(f).isThinking === true).lastIndexOf(true);
    expect(lastThought).toBeLessThan(firstFinal);
    expect(fr.some((f) => resp(f).webSearchResults)).toBe(false);
    expect(fr.some((f) => resp(f).uiLayout)).toBe(true);
  });

  it("search: tool card, results with toolUsageCardId, citation cards before inline tags", async () => {
    fake.queue(acc.sso, "search");
    const fr = await frames(await newChat(fake, acc, "How far is the Moon?"));
    const card = fr.find((f) => resp(f).messageTag === "tool_usage_card");
    expect(resp(card).token).toMatch(/^<xai:tool_usage_card><xai:tool_usage_card_id>[0-9a-f-]{36}<\/xai:tool_usage_card_id><xai:tool_name>web_search<\/xai:tool_name>/);
    expect(resp(card).toolUsageCard.webSearch.args.query).toBe("average distance earth moon");
    const results = fr.find((f) => resp(f).webSearchResults);
    expect(resp(results).toolUsageCardId).toBe(resp(card).toolUsageCardId);
    expect(resp(results).webSearchResults.results.map((x: any) => x.url)).toEqual(["https://example.org/moon", "https://example.net/orbit"]);
    const cardIdx = fr.findIndex((f) => resp(f).cardAttachment);
    const tagIdx = fr.findIndex((f) => String(resp(f).token ?? "").includes("<grok:render"));
    expect(cardIdx).toBeGreaterThan(0);
    expect(cardIdx).toBeLessThan(tagIdx);
    const cards = fr.filter((f) => resp(f).cardAttachment).map((f) => JSON.parse(resp(f).cardAttachment.jsonData));
    expect(cards.map((c) => [c.id, c.url])).toEqual([["b086be", "https://example.org/moon"], ["c41f07", "https://example.net/orbit"]]);
    const text = answer(fr);
    expect(stripMarkup(text)).toBe(DEFAULT_TEXT);
    expect(text).toBe('Hi<grok:render card_id="b086be" card_type="citation_card" type="render_inline_citation"><argument name="citation_id">0</argument></grok:render> there<grok:render card_id="c41f07" card_type="citation_card" type="render_inline_citation"><argument name="citation_id">1</argument></grok:render>!');
    expect(resp(fr.find((f) => resp(f).modelResponse)).modelResponse.message).toBe(text);
    expect(reasoning(fr)).toBe(DEFAULT_REASONING);
  });

  it("search-tags: tags split across tokens and citation cards arriving late", async () => {
    fake.queue(acc.sso, "search-tags");
    const fr = await frames(await newChat(fake, acc));
    const tagParts = fr.filter((f) => /grok:render|argument/.test(String(resp(f).token ?? "")));
    expect(tagParts.length).toBeGreaterThanOrEqual(4);
    expect(tagParts.some((f) => !String(resp(f).token).includes("</grok:render>"))).toBe(true);
    const firstCard = fr.findIndex((f) => resp(f).cardAttachment);
    const firstTag = fr.findIndex((f) => String(resp(f).token ?? "").includes("<grok:render"));
    expect(firstCard).toBeGreaterThan(firstTag);
    expect(stripMarkup(answer(fr))).toBe(DEFAULT_TEXT);
  });

  it("search-no-tool-call-id: results frame without toolUsageCardId", async () => {
    fake.queue(acc.sso, "search-no-tool-call-id");
    const fr = await frames(await newChat(fake, acc));
    const results = fr.find((f) => resp(f).webSearchResults);
    expect(results).toBeTruthy();
    expect("toolUsageCardId" in resp(results)).toBe(false);
  });

  it("markup: artifacts, render tags in any case and tool-card XML inside the answer", async () => {
    fake.queue(acc.sso, "markup");
    const fr = await frames(await newChat(fake, acc));
    const text = answer(fr);
    expect(text).toBe(MARKUP_TEXT);
    expect(text).toMatch(/<xaiArtifact /);
    expect(text).toMatch(/<GROK:RENDER /);
    expect(text).toMatch(/<xai:tool_usage_card>/);
    expect(fr.some((f) => resp(f).messageTag === "tool_usage_card")).toBe(true);
    expect(fr.filter((f) => resp(f).messageTag === "final").length).toBeGreaterThan(10); // tags split over tokens
  });

  it("magic word #scenario:<name> in the prompt selects the scenario without using the queue", async () => {
    fake.queue(acc.sso, { name: "text", text: "queued" });
    const fr = await frames(await newChat(fake, acc, "please #scenario:thinking now"));
    expect(reasoning(fr)).toBe(DEFAULT_REASONING);
    expect(fake.chatRequests().at(-1)!.scenario).toBe("thinking");
    expect(answer(await frames(await newChat(fake, acc)))).toBe("queued");
  });

  it("queue: FIFO per account first, then '*', then the default", async () => {
    const other = fake.addAccount();
    fake.queue("*", { name: "text", text: "star-1" }, { name: "text", text: "star-2" });
    fake.queue(acc.sso, { name: "text", text: "own-1" });
    fake.setDefault({ name: "text", text: "default" });
    const texts: string[] = [];
    for (const a of [acc, acc, other, acc, other]) texts.push(answer(await frames(await newChat(fake, a))));
    expect(texts).toEqual(["own-1", "star-1", "star-2", "default", "default"]);
  });

  it("framing variants: sse with [DONE], sse-events, concatenated objects", async () => {
    fake.queue(acc.sso, { name: "text", framing: "sse" }, { name: "text", framing: "concatenated" }, { name: "text", framing: "sse-events" });
    const sse = await newChat(fake, acc);
    expect(sse.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const sseText = (await readAll(sse)).text;
    expect(sseText.split("\n\n").filter(Boolean).every((l) => l.startsWith("data: "))).toBe(true);
    expect(sseText.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(answer(parseObjects(sseText))).toBe(DEFAULT_TEXT);
    const cat = (await readAll(await newChat(fake, acc))).text;
    const lines = cat.split("\n").filter(Boolean);
    expect(lines.length).toBe(3);
    expect(lines[0]).toMatch(/^\{.*\}\{.*\}\{.*\}$/);
    expect(answer(parseObjects(cat))).toBe(DEFAULT_TEXT);
    const ev = (await readAll(await newChat(fake, acc))).text;
    expect(ev).toContain("event: message\ndata: {");
    expect(ev.endsWith("event: done\ndata: [DONE]\n\n")).toBe(true);
  });

  it("split-utf8: byte chunks end inside multi-byte characters and inside objects; the whole is valid", async () => {
    fake.queue(acc.sso, "split-utf8");
    const { text, chunks } = await readAll(await newChat(fake, acc));
    expect(chunks.length).toBeGreaterThan(20);
    const insideChar = chunks.filter((c) => {
      const lastByte = c[c.length - 1]!;
      return lastByte >= 0xc0 || (lastByte & 0xc0) === 0x80 ? !validUtf8(c) : false;
    });
    expect(insideChar.length).toBeGreaterThan(5);
    expect(chunks.some((c) => !Buffer.from(c).toString("utf8").trimEnd().endsWith("}"))).toBe(true);
    expect(answer(parseObjects(text))).toBe(SPLIT_UTF8_TEXT);
  });

  it("slow: honours delayMs between frames", async () => {
    fake.queue(acc.sso, { name: "slow", delayMs: 40 });
    const t0 = Date.now();
    const fr = await frames(await newChat(fake, acc));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(40 * (fr.length - 1) - 5);
    expect(answer(fr)).toBe(DEFAULT_TEXT);
  });

  it("continues a conversation on /conversations/{id}/responses with a known parent", async () => {
    const first = await frames(await newChat(fake, acc));
    const conv = first[0].result.conversation.conversationId;
    const parent = resp(first.find((f) => resp(f).modelResponse)).modelResponse.responseId;
    const path = `/rest/app-chat/conversations/${conv}/responses`;
    const next = await postJson(fake, acc, path, chatBody("and again", { parentResponseId: parent }));
    expect(next.status).toBe(200);
    const fr = parseObjects((await readAll(next)).text);
    expect(fr[0].result.conversation.conversationId).toBe(conv);
    expect(answer(fr)).toBe(DEFAULT_TEXT);
    const v3 = await postJson(fake, acc, path, chatBody("v3 shape", { responseId: resp(fr.find((f) => resp(f).modelResponse)).modelResponse.responseId }));
    expect(v3.status).toBe(200);
    await v3.text();
    const bad = await postJson(fake, acc, path, chatBody("x", { parentResponseId: "6f1d2c3b-8e4a-4b5c-9d0e-1f2a3b4c5d6e" }));
    expect(bad.status).toBe(400);
    const unknown = await postJson(fake, acc, "/rest/app-chat/conversations/6f1d2c3b-8e4a-4b5c-9d0e-1f2a3b4c5d6e/responses", chatBody("x"));
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 5, message: "Conversation not found", details: [] } });
    fake.queue(acc.sso, { name: "text", variant: "flat" });
    const flat = await frames(await postJson(fake, acc, path, chatBody("flat")));
    const tokens = flat.filter((f) => typeof f.result?.token === "string" && f.result.token !== "");
    expect(tokens.map((f) => f.result.token).join("")).toBe(DEFAULT_TEXT);
    expect(tokens[0].result.response).toBeUndefined();
    expect(tokens[0].result.responseId).toMatch(/^[0-9a-f-]{36}$/);
    const otherAcc = fake.addAccount();
    expect((await postJson(fake, otherAcc, path, chatBody("x"))).status).toBe(404);
  });

  it("image-gen (2026 card, data: framing) and image-gen-2025 with fetchable private assets", async () => {
    fake.queue(acc.sso, "image-gen", "image-gen-2025");
    const card = await newChat(fake, acc, "draw a cat");
    expect(card.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const cardText = (await readAll(card)).text;
    expect(cardText.startsWith("data: {")).toBe(true);
    const cf = parseObjects(cardText);
    const finalCard = cf.map((f) => resp(f).cardAttachment?.jsonData).filter(Boolean).map((j) => JSON.parse(j)).find((j) => j.image_chunk?.progress === 100);
    expect(finalCard.image_chunk.moderated).toBe(false);
    const url = finalCard.image_chunk.imageUrl as string;
    expect(url).toMatch(new RegExp(`^users/${acc.userId}/generated/[0-9a-f-]{36}/image\\.jpg$`));
    const img = await fetch(`${fake.assetsUrl}/${url}`, { headers: { cookie: cookieFor(acc), "user-agent": UA } });
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/jpeg");
    expect(Buffer.from(await img.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));

    const old = await frames(await newChat(fake, acc, "draw a moon"));
    const imgs = old.map((f) => resp(f).streamingImageGenerationResponse).filter(Boolean);
    expect(imgs.map((i) => i.progress)).toEqual([50, 100, 100]);
    expect(imgs[0].imageUrl).toContain("-part-0/image.jpg");
    const final = resp(old.find((f) => resp(f).modelResponse)).modelResponse.generatedImageUrls;
    expect(final).toHaveLength(2);
    for (const u of [imgs[0].imageUrl, ...final]) {
      const res = await fetch(`${fake.assetsUrl}/${u}`, { headers: { cookie: cookieFor(acc) } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
  });

  it("moderated: card images with moderated:true; 2025 variant drops generatedImageUrls", async () => {
    fake.queue(acc.sso, "moderated", { name: "moderated", variant: "2025" });
    const cf = await frames(await newChat(fake, acc));
    const cards = cf.map((f) => resp(f).cardAttachment?.jsonData).filter(Boolean).map((j) => JSON.parse(j));
    expect(cards.some((c) => c.image_chunk?.moderated === true)).toBe(true);
    const old = await frames(await newChat(fake, acc));
    expect(old.map((f) => resp(f).streamingImageGenerationResponse).filter(Boolean).every((i) => i.moderated === true)).toBe(true);
    expect(resp(old.find((f) => resp(f).modelResponse)).modelResponse.generatedImageUrls).toEqual([]);
  });
});

function validUtf8(b: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}
