import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { toFile } from "openai";
import { fixtureBytes } from "../fake-grok/fixtures.js";
import type { RecordedRequest } from "../fake-grok/types.js";
import { type Stack, startStack } from "../support/stack.js";

const JPEG = fixtureBytes("image.jpg");
const PNG = fixtureBytes("image.png");

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ accounts: ["super"] });
});
afterAll(async () => {
  await stack?.close();
});
afterEach(() => stack.fake.reset());

const imagineRounds = () => stack.fake.requests.filter((r) => r.transport === "ws" && r.path === "/ws/imagine/listen");
const requestOf = (r: RecordedRequest) =>
  (r.wsMessages as Array<{ item?: { content?: Array<{ type?: string; properties?: Record<string, unknown> }> } }>).map((m) => m.item?.content?.[0]).find((c) => c?.type === "input_text")!;

async function fetchBytes(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe("POST /v1/images/generations (Imagine WebSocket)", () => {
  it("openai.images.generate, response_format url: n images at the proxy's URLs, bytes equal to what grok.com sent", async () => {
    const r = await stack.openai.images.generate({ model: "grok-imagine-image", prompt: "a red fox in snow", n: 2, size: "1792x1024", response_format: "url" });
    expect(typeof r.created).toBe("number");
    expect(r.data).toHaveLength(2);
    for (const d of r.data!) {
      expect(d.url!.startsWith(`${stack.url}/images/`)).toBe(true);
      expect((await fetchBytes(d.url!)).equals(JPEG)).toBe(true);
    }
    const rounds = imagineRounds();
    expect(rounds).toHaveLength(1);
    const req = requestOf(rounds[0]!);
    expect(req.properties).toMatchObject({ num_generations: 2, aspect_ratio: "3:2", enable_pro: false });
    expect(rounds[0]!.cookies.sso).toBe(stack.accounts[0]!.sso);
    // The cache browser lists them with their prompt.
    const listed = await stack.server.deps.media.list("image");
    expect(listed.filter((e) => e.prompt === "a red fox in snow").length).toBeGreaterThanOrEqual(2);
  });

  it("response_format b64_json: the bytes inline, Image 2.0 asks for enable_pro", async () => {
    const r = await stack.openai.images.generate({ model: "grok-imagine-image-2.0", prompt: "a lighthouse", response_format: "b64_json", size: "1024x1024" });
    expect(r.data).toHaveLength(1);
    expect(Buffer.from(r.data![0]!.b64_json!, "base64").equals(JPEG)).toBe(true);
    expect(requestOf(imagineRounds()[0]!).properties).toMatchObject({ num_generations: 1, aspect_ratio: "1:1", enable_pro: true });
  });

  it("default model for dall-e/gpt-image ids; gpt-image answers b64_json unless asked", async () => {
    const r = await stack.openai.images.generate({ model: "gpt-image-1", prompt: "a kite" });
    expect(r.data![0]!.b64_json).toBeTruthy();
    const r2 = await stack.openai.images.generate({ model: "dall-e-3", prompt: "a kite" });
    expect(r2.data![0]!.url).toMatch(/\/images\//);
  });

  it("the out-of-order variant (completed before the final image) still yields the images", async () => {
    stack.fake.queue("*", { name: "imagine", variant: "out-of-order" });
    const r = await stack.openai.images.generate({ model: "grok-imagine-image", prompt: "two moons", n: 2 });
    expect(r.data).toHaveLength(2);
    for (const d of r.data!) expect((await fetchBytes(d.url!)).equals(JPEG)).toBe(true);
  });

  it("moderation names moderation (403 content_moderated), not 'upstream error'", async () => {
    const err = await stack.openai.images.generate({ model: "grok-imagine-image", prompt: "blocked #scenario:moderated" }).catch((e) => e);
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/moderation/i);
    expect(err.code).toBe("content_moderated");
    expect(imagineRounds()).toHaveLength(1); // not retried on another account
  });

  it("an Imagine rate-limit frame is a 429 naming the limit", async () => {
    const err = await stack.openai.images.generate({ model: "grok-imagine-image", prompt: "x #scenario:usage-limit" }).catch((e) => e);
    expect(err.status).toBe(429);
    expect(err.message).toMatch(/usage limit|rate/i);
  });

  it("spends and syncs the image_pro bucket like chat", async () => {
    const sso = stack.accounts[0]!.sso;
    await stack.server.deps.pool.syncOne(sso);
    const before = stack.server.deps.pool.get(sso)!.quota.image_pro!.remaining!;
    const fakeBefore = stack.fake.account(sso)!.quota.image_pro!.remaining;
    expect(before).toBe(fakeBefore);
    await stack.openai.images.generate({ model: "grok-imagine-image", prompt: "three apples", n: 3 });
    expect(stack.server.deps.pool.get(sso)!.quota.image_pro!.remaining).toBe(before - 3); // local estimate at lease time
    expect(stack.fake.account(sso)!.quota.image_pro!.remaining).toBe(fakeBefore - 3);
    await stack.server.deps.pool.syncOne(sso);
    expect(stack.server.deps.pool.get(sso)!.quota.image_pro).toMatchObject({ remaining: fakeBefore - 3 });
  });

  it("bad fields are 400s naming them; unknown models 404; chat models refused", async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ prompt: "" }, 400, "prompt"],
      [{ prompt: "x", n: 11 }, 400, "n"],
      [{ prompt: "x", n: 0 }, 400, "n"],
      [{ prompt: "x", size: "big" }, 400, "size"],
      [{ prompt: "x", response_format: "png" }, 400, "response_format"],
      [{ prompt: "x", model: "grok-chat-fast" }, 400, "model"],
      [{ prompt: "x", model: "grok-imagine-image-edit" }, 400, "model"],
      [{ prompt: "x", model: "no-such-model" }, 404, "model"],
      [{ prompt: "x", stream: true }, 400, "stream"],
    ];
    for (const [body, status, param] of cases) {
      const res = await fetch(`${stack.url}/v1/images/generations`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(body)).toBe(status);
      const j = (await res.json()) as { error: { param: string } };
      expect(j.error.param, JSON.stringify(body)).toBe(param);
    }
    expect(imagineRounds()).toHaveLength(0);
  });

  it("grok-imagine-image-lite goes through the chat image tool (Drawing: …), one image per turn", async () => {
    const r = await stack.openai.images.generate({ model: "grok-imagine-image-lite", prompt: "a red fox in snow", n: 2 });
    expect(r.data).toHaveLength(2);
    for (const d of r.data!) expect((await fetchBytes(d.url!)).equals(JPEG)).toBe(true);
    const turns = stack.fake.chatRequests();
    expect(turns).toHaveLength(2);
  });
});

describe("POST /v1/images/edits (upload + imagine-image-edit)", () => {
  it("openai.images.edit with one image: uploaded for Imagine, edited, bytes equal", async () => {
    const r = await stack.openai.images.edit({ model: "grok-imagine-image-edit", image: await toFile(PNG, "fox.png", { type: "image/png" }), prompt: "make it blue" });
    expect(r.data).toHaveLength(1);
    expect((await fetchBytes(r.data![0]!.url!)).equals(JPEG)).toBe(true);
    const upload = stack.fake.requests.find((q) => q.path === "/http/upload-file-v2/direct")!;
    const parsed = upload.body as { fields: Record<string, string>; files: Array<{ filename: string }> };
    expect(parsed.fields.file_source).toBe("IMAGINE_SELF_UPLOAD_FILE_SOURCE");
    expect(upload.headers.referer).toBe(`${stack.fake.url}/imagine`);
    const edit = stack.fake.chatRequests().at(-1)!;
    const body = edit.body as { modelName: string; mediaGenInput: { imageToImage: { prompt: string; inputAssets: string[] } } };
    expect(body.modelName).toBe("imagine-image-edit");
    expect(body.mediaGenInput.imageToImage.prompt).toBe("make it blue");
    expect(body.mediaGenInput.imageToImage.inputAssets).toHaveLength(1);
    expect(edit.rejected).toBeUndefined();
  });

  it("image[] with two inputs, n=2, b64_json", async () => {
    const r = await stack.openai.images.edit({
      model: "grok-imagine-image-edit",
      image: [await toFile(PNG, "a.png", { type: "image/png" }), await toFile(JPEG, "b.jpg", { type: "image/jpeg" })],
      prompt: "merge them",
      n: 2,
      response_format: "b64_json",
    });
    expect(r.data).toHaveLength(2);
    for (const d of r.data!) expect(Buffer.from(d.b64_json!, "base64").equals(JPEG)).toBe(true);
    const edits = stack.fake.chatRequests();
    expect(edits).toHaveLength(2);
    expect((edits[0]!.body as any).mediaGenInput.imageToImage.inputAssets).toHaveLength(2);
    expect(stack.fake.requests.filter((q) => q.path === "/http/upload-file-v2/direct")).toHaveLength(2); // uploaded once
  });

  it("the 2026 JSON form with a data URL", async () => {
    const res = await fetch(`${stack.url}/v1/images/edits`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "blue", images: [{ image_url: `data:image/png;base64,${PNG.toString("base64")}` }] }),
    });
    expect(res.status).toBe(200);
    const j = (await res.json()) as { data: Array<{ url: string }> };
    expect((await fetchBytes(j.data[0]!.url)).equals(JPEG)).toBe(true);
  });

  it("mask is refused clearly; wrong types and declared-type mismatches name the part; oversize is 413", async () => {
    const form = (parts: Array<[string, Blob, string?] | [string, string]>) => {
      const f = new FormData();
      for (const p of parts) (p.length === 3 ? f.append(p[0], p[1] as Blob, p[2]) : f.append(p[0], p[1] as string));
      return f;
    };
    const post = (body: FormData | string, headers: Record<string, string> = {}) => fetch(`${stack.url}/v1/images/edits`, { method: "POST", body, headers });
    const png = new Blob([new Uint8Array(PNG)], { type: "image/png" });
    const cases: Array<[FormData, number, string, RegExp]> = [
      [form([["image", png, "a.png"], ["mask", png, "m.png"], ["prompt", "x"]]), 400, "mask", /mask is not supported/],
      [form([["image", new Blob([new Uint8Array(Buffer.from("hello, not an image"))], { type: "text/plain" }), "notes.txt"], ["prompt", "x"]]), 400, "image", /not a PNG, JPEG, WebP or GIF/],
      [form([["image[]", png, "a.png"], ["image[]", new Blob([new Uint8Array(Buffer.from("%PDF-1.7 not a picture"))], { type: "image/gif" }), "b.gif"], ["prompt", "x"]]), 400, "image[1]", /image\[1\]/],
      [form([["image", new Blob([new Uint8Array(PNG)], { type: "image/jpeg" }), "a.jpg"], ["prompt", "x"]]), 400, "image", /declared image\/jpeg but the data is image\/png/],
      [form([["prompt", "x"]]), 400, "image", /image is required/],
      [form([["image", png, "a.png"]]), 400, "prompt", /prompt is required/],
      [form([["image", png, "a.png"], ["prompt", "x"], ["n", "20"]]), 400, "n", /n must be/],
      [form([["photo", png, "a.png"], ["prompt", "x"]]), 400, "photo", /unexpected file part/],
      [form([...Array.from({ length: 9 }, (_, i) => ["image[]", png, `${i}.png`] as [string, Blob, string]), ["prompt", "x"]]), 400, "image", /at most 8/],
      [form([["image", new Blob([new Uint8Array(Buffer.concat([PNG, Buffer.alloc(33 * 1024 * 1024)]))], { type: "image/png" }), "big.png"], ["prompt", "x"]]), 413, "image", /32 MiB/],
    ];
    for (const [body, status, param, msg] of cases) {
      const res = await post(body);
      const text = await res.text();
      const j = JSON.parse(text) as { error: { param: string; message: string } };
      expect(res.status, text).toBe(status);
      expect(j.error.param).toBe(param);
      expect(j.error.message).toMatch(msg);
    }
    const wrongType = await post("prompt=x", { "content-type": "application/x-www-form-urlencoded" });
    expect(wrongType.status).toBe(415);
    expect(stack.fake.chatRequests()).toHaveLength(0);
    expect(stack.fake.requests.filter((q) => q.path === "/http/upload-file-v2/direct")).toHaveLength(0);
  });

  it("a moderated edit is a 403 naming moderation", async () => {
    const err = await stack.openai.images.edit({ image: await toFile(PNG, "a.png", { type: "image/png" }), prompt: "x #scenario:moderated" }).catch((e) => e);
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/moderation/i);
  });
});

describe("failover", () => {
  it("an Imagine handshake refused with 429 moves the job to another account; the first one's image bucket is exhausted", async () => {
    const second = await stack.addAccount("super");
    stack.fake.queue("*", "http-429");
    const r = await stack.openai.images.generate({ model: "grok-imagine-image", prompt: "a fox", n: 1 });
    expect(r.data).toHaveLength(1);
    expect((await fetchBytes(r.data![0]!.url!)).equals(JPEG)).toBe(true);
    const rounds = imagineRounds();
    expect(rounds).toHaveLength(2);
    const [first, next] = rounds.map((q) => q.cookies.sso);
    expect(first).not.toBe(next);
    expect([stack.accounts[0]!.sso, second.sso]).toContain(first);
    // Its image bucket is exhausted until the reset (rate limits are per bucket); chat stays usable.
    const q = stack.server.deps.pool.get(first!)!.quota.image_pro!;
    expect(q.remaining).toBe(0);
    expect(q.resetAt!).toBeGreaterThan(Date.now());
  });
});
