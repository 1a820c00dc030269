import { request as httpRequest } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import Anthropic from "@anthropic-ai/sdk";
import { fixtureBytes } from "../fake-grok/fixtures.js";
import { readSse, type Stack, startStack } from "../support/stack.js";

/** The Markdown images of an answer, in order. */
const imagesIn = (text: string) => [...text.matchAll(/!\[image\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
const JPEG = fixtureBytes("image.jpg");

async function bytesAt(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  expect(res.headers.get("content-type")).toBe("image/jpeg");
  return Buffer.from(await res.arrayBuffer());
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ accounts: 1 });
});
afterAll(async () => {
  await stack?.close();
});
afterEach(async () => {
  stack.fake.reset();
  await stack.server.deps.settings.update({ grok: { chat_transport: "gateway" }, global: { base_url: "", image_mode: "url" } });
});

const assetGets = () => stack.fake.requests.filter((r) => r.server === "assets" && r.method === "GET");

describe("generated images in chat", () => {
  it("REST 2025 flow, non-stream: two Markdown images served by the proxy, bytes equal, downloaded with the account's cookie", async () => {
    await stack.server.deps.settings.update({ grok: { chat_transport: "rest" } });
    const r = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: [{ role: "user", content: "draw a moon #scenario:image-gen-2025" }] });
    const content = r.choices[0]!.message.content!;
    const urls = imagesIn(content);
    expect(urls).toHaveLength(2);
    expect(content).toContain("I generated images with the prompt");
    for (const u of urls) {
      expect(u.startsWith(`${stack.url}/images/`)).toBe(true);
      expect((await bytesAt(u)).equals(JPEG)).toBe(true);
    }
    // Finals only (no -part-0 preview), with the generating account's cookie.
    const gets = assetGets();
    expect(gets).toHaveLength(2);
    for (const g of gets) {
      expect(g.path).not.toContain("-part-");
      expect(g.cookies.sso).toBe(stack.accounts[0]!.sso);
      expect(g.rejected).toBeUndefined();
    }
    const chat = stack.fake.chatRequests().at(-1)!;
    expect((chat.body as Record<string, unknown>).enableImageGeneration).toBe(true);
    const listed = await stack.server.deps.media.list("image");
    expect(listed.filter((e) => urls.some((u) => u.endsWith(e.name)))).toHaveLength(2);
    expect(listed[0]!.prompt).toBe("draw a moon #scenario:image-gen-2025");
  });

  it("gateway card flow, stream: the usable image as Markdown, the moderated one dropped, keep-alive framing intact", async () => {
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "grok-chat-fast", stream: true, messages: [{ role: "user", content: "Drawing: a red fox in snow" }] }),
    });
    expect(res.status).toBe(200);
    const sse = await readSse(res);
    expect(sse.data.at(-1)).toBe("[DONE]");
    const text = sse.data
      .slice(0, -1)
      .map((d) => JSON.parse(d) as { choices: Array<{ delta: { content?: string } }> })
      .map((c) => c.choices[0]?.delta.content ?? "")
      .join("");
    const urls = imagesIn(text);
    expect(urls).toHaveLength(1);
    expect(text).toContain("Here is your fox.");
    expect(text).not.toContain("assets");
    expect((await bytesAt(urls[0]!)).equals(JPEG)).toBe(true);
    // The gateway session asked for image generation.
    const ws = stack.fake.requests.find((r) => r.transport === "ws" && r.path.startsWith("/ws/mgw"))!;
    const create = (ws.wsMessages as Array<{ event?: { type?: string; session?: { x_grok?: Record<string, unknown> } } }>).find((m) => m.event?.type === "session.create")!;
    expect(create.event!.session!.x_grok!.enable_image_generation).toBe(true);
  });

  it("REST 2026 card flow, stream through the SDK", async () => {
    await stack.server.deps.settings.update({ grok: { chat_transport: "rest" } });
    const stream = await stack.openai.chat.completions.create({ model: "grok-chat-fast", stream: true, messages: [{ role: "user", content: "a cat #scenario:image-gen" }] });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
    const urls = imagesIn(text);
    expect(urls).toHaveLength(1);
    expect(text).not.toContain("grok:render");
    expect((await bytesAt(urls[0]!)).equals(JPEG)).toBe(true);
  });

  it("uses base_url when set, and inline data URLs in base64 mode", async () => {
    await stack.server.deps.settings.update({ grok: { chat_transport: "rest" }, global: { base_url: "https://media.example.test/" } });
    const r1 = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: [{ role: "user", content: "moon #scenario:image-gen-2025" }] });
    const u1 = imagesIn(r1.choices[0]!.message.content!);
    expect(u1).toHaveLength(2);
    for (const u of u1) {
      expect(u).toMatch(/^https:\/\/media\.example\.test\/images\/[A-Za-z0-9_-]{22}\.jpg$/);
      expect((await bytesAt(`${stack.url}${new URL(u).pathname}`)).equals(JPEG)).toBe(true);
    }
    await stack.server.deps.settings.update({ global: { base_url: "", image_mode: "base64" } });
    const r2 = await stack.openai.chat.completions.create({ model: "grok-chat-fast", max_tokens: 50, messages: [{ role: "user", content: "moon #scenario:image-gen-2025" }] });
    const u2 = imagesIn(r2.choices[0]!.message.content!);
    expect(u2).toHaveLength(2);
    for (const u of u2) {
      expect(u.startsWith("data:image/jpeg;base64,")).toBe(true);
      expect(Buffer.from(u.slice("data:image/jpeg;base64,".length), "base64").equals(JPEG)).toBe(true);
    }
  });

  it("the request's own origin when base_url is empty (whatever Host the client used)", async () => {
    const port = new URL(stack.url).port;
    await stack.server.deps.settings.update({ grok: { chat_transport: "rest" } });
    const payload = JSON.stringify({ model: "grok-chat-fast", messages: [{ role: "user", content: "moon #scenario:image-gen-2025" }] });
    const text = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, path: "/v1/chat/completions", method: "POST", headers: { host: `localhost:${port}`, "content-type": "application/json" } }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
      });
      req.on("error", reject);
      req.end(payload);
    });
    const urls = imagesIn((JSON.parse(text) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content);
    expect(urls).toHaveLength(2);
    for (const u of urls) expect(u.startsWith(`http://localhost:${port}/images/`), u).toBe(true);
  });

  it("Anthropic Messages get the same images (one output path for every protocol)", async () => {
    await stack.server.deps.settings.update({ grok: { chat_transport: "rest" } });
    const anthropic = new Anthropic({ baseURL: stack.url, apiKey: "k", maxRetries: 0 });
    const msg = await anthropic.messages.create({ model: "grok-chat-fast", max_tokens: 100, messages: [{ role: "user", content: "moon #scenario:image-gen-2025" }] });
    const text = msg.content.map((b) => (b.type === "text" ? b.text : "")).join("");
    const urls = imagesIn(text);
    expect(urls).toHaveLength(2);
    expect((await bytesAt(urls[1]!)).equals(JPEG)).toBe(true);
  });

  it("an answer whose only images were moderated fails with a moderation error (403, not 'upstream error'), without failover", async () => {
    await stack.server.deps.settings.update({ grok: { chat_transport: "rest" } });
    const before = stack.fake.chatRequests().length;
    const err = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: [{ role: "user", content: "x #scenario:moderated" }] }).catch((e) => e);
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/moderation/i);
    expect(err.error?.code ?? err.code).toBe("content_moderated");
    expect(stack.fake.chatRequests().length - before).toBe(1);
    expect(stack.server.deps.pool.get(stack.accounts[0]!.sso)!.effectiveStatus).toBe("active");
    // The 2025 frames (images moderated, empty generatedImageUrls) come with grok's caption: the answer keeps it and says why there is no image.
    stack.fake.queue("*", { name: "moderated", variant: "2025" });
    const r2 = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: [{ role: "user", content: "x" }] });
    const content = r2.choices[0]!.message.content!;
    expect(imagesIn(content)).toHaveLength(0);
    expect(content).toMatch(/moderation blocked the generated image/);
    expect(assetGets()).toHaveLength(0);
  });

  it("keep-alives flow while the images render", async () => {
    await stack.server.deps.settings.update({ grok: { chat_transport: "rest", keepalive_interval: 1 } });
    try {
      stack.fake.queue("*", { name: "image-gen-2025", delayMs: 350 });
      const res = await fetch(`${stack.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "grok-chat-fast", stream: true, messages: [{ role: "user", content: "draw a moon" }] }),
      });
      const sse = await readSse(res);
      expect(sse.comments.length).toBeGreaterThanOrEqual(1);
      const text = sse.data.slice(0, -1).map((d) => (JSON.parse(d) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? "").join("");
      expect(imagesIn(text)).toHaveLength(2);
    } finally {
      await stack.server.deps.settings.update({ grok: { keepalive_interval: 15 } });
    }
  });

  it("client tools switch grok's image tool off", async () => {
    await stack.server.deps.settings.update({ grok: { chat_transport: "rest" } });
    await stack.openai.chat.completions.create({
      model: "grok-chat-fast",
      messages: [{ role: "user", content: "hi" }],
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } }],
    });
    const body = stack.fake.chatRequests().at(-1)!.body as Record<string, unknown>;
    expect(body.enableImageGeneration).toBe(false);
  });
  it("an image model in chat makes its image from the last user message (Imagine), stream and non-stream", async () => {
    const r = await stack.openai.chat.completions.create({ model: "grok-imagine-image", messages: [{ role: "user", content: "a red fox in snow" }] });
    const urls = imagesIn(r.choices[0]!.message.content!);
    expect(urls).toHaveLength(1);
    expect((await bytesAt(urls[0]!)).equals(JPEG)).toBe(true);
    const round = stack.fake.requests.find((q) => q.path === "/ws/imagine/listen")!;
    expect(JSON.stringify(round.wsMessages)).toContain("a red fox in snow");
    const stream = await stack.openai.chat.completions.create({ model: "grok-imagine-image", stream: true, messages: [{ role: "user", content: "a blue fox" }] });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
    expect(imagesIn(text)).toHaveLength(1);
  });

  it("the edit model in chat edits the message's image; without one it is a 400", async () => {
    const png = fixtureBytes("image.png");
    const r = await stack.openai.chat.completions.create({
      model: "grok-imagine-image-edit",
      messages: [{ role: "user", content: [{ type: "text", text: "make it blue" }, { type: "image_url", image_url: { url: `data:image/png;base64,${png.toString("base64")}` } }] }],
    });
    const urls = imagesIn(r.choices[0]!.message.content!);
    expect(urls).toHaveLength(1);
    expect((await bytesAt(urls[0]!)).equals(JPEG)).toBe(true);
    const edit = stack.fake.chatRequests().at(-1)!.body as { mediaGenInput?: { imageToImage?: { prompt: string } } };
    expect(edit.mediaGenInput?.imageToImage?.prompt).toBe("make it blue");
    const err = await stack.openai.chat.completions.create({ model: "grok-imagine-image-edit", messages: [{ role: "user", content: "make it blue" }] }).catch((e) => e);
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/attach the picture/);
  });
});
