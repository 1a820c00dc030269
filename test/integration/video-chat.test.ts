import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fixtureBytes } from "../fake-grok/index.js";
import { readSse, startStack, type Stack } from "../support/stack.js";

/** Video models in chat (grok-protocol.md §8) through the OpenAI chat surface, against the fake grok.com. */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ accounts: ["basic"] });
  // Basic accounts have 4 videos a day in the fake: plenty for this file.
  stack.fake.setQuota(stack.accounts[0]!.sso, "video_720p", { remaining: 1000, total: 1000 });
});
afterAll(async () => stack?.close());
beforeEach(async () => {
  stack.fake.reset();
  await stack.server.deps.settings.update({ grok: { video_flow: "auto", show_thinking: true, thinking_output: "reasoning_content" }, global: { base_url: "" } });
});

const MP4 = fixtureBytes("video.mp4");
const JPEG = fixtureBytes("image.jpg");
const PNG = fixtureBytes("image.png");
const chats = () => stack.fake.requests.filter((r) => r.path === "/rest/app-chat/conversations/new");
const posts = () => stack.fake.requests.filter((r) => r.path === "/rest/media/post/create");
const VIDEO_TAG = /^<video src="([^"]+)" controls="controls"><\/video>/;

async function fetchBytes(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

const chat = (body: Record<string, unknown>) => fetch(`${stack.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("video models", () => {
  it("/v1/models lists the original's grok-imagine-0.9 and the current video ids", async () => {
    const ids = (await stack.openai.models.list()).data.map((m) => m.id);
    for (const id of ["grok-imagine-0.9", "grok-imagine-video", "grok-imagine-1.0-video"]) expect(ids).toContain(id);
  });

  it("non-stream: the current text-to-video form, progress as reasoning, a <video> with the proxy's own URL serving grok's MP4", async () => {
    const r = await stack.openai.chat.completions.create({ model: "grok-imagine-0.9", messages: [{ role: "user", content: "a cat surfing --mode=fun" }] });
    const msg = r.choices[0]!.message as { content: string; reasoning_content?: string };
    const m = VIDEO_TAG.exec(msg.content);
    expect(m, msg.content).not.toBeNull();
    const url = m![1]!;
    expect(url).toMatch(new RegExp(`^${stack.url}/videos/[A-Za-z0-9_-]{22}\\.mp4$`));
    expect(msg.content).toContain(`](${url})`); // and a Markdown link for UIs without HTML
    const { res, bytes } = await fetchBytes(url);
    expect(res.headers.get("content-type")).toBe("video/mp4");
    expect(bytes.equals(MP4)).toBe(true);
    for (const p of ["1%", "46%", "95%", "100%"]) expect(msg.reasoning_content).toContain(`Generating video… ${p}`);
    const body = chats()[0]!.body as Record<string, any>;
    expect(body.modelName).toBe("imagine-video-gen");
    expect(body.kind).toBe("CONVERSATION_KIND_IMAGINE");
    expect(body.mediaGenInput.textToVideo).toEqual({ prompt: "a cat surfing", aspectRatio: "16:9", duration: 6, resolutionName: "720p" });
    expect(body.message).toBe("a cat surfing --mode=extremely-crazy");
    expect(chats()[0]!.headers.referer).toBe(`${stack.fake.url}/imagine`);
    expect(posts()).toHaveLength(0);
  });

  it("stream: progress percentages in order as reasoning deltas, then the <video>; Range requests on the URL", async () => {
    const res = await chat({ model: "grok-imagine-video", stream: true, messages: [{ role: "user", content: "rain over a harbour --mode normal" }], aspect_ratio: "9:16", duration: 5 });
    expect(res.status).toBe(200);
    const { data } = await readSse(res);
    expect(data.at(-1)).toBe("[DONE]");
    const deltas = data.slice(0, -1).map((d) => JSON.parse(d).choices[0]?.delta ?? {});
    const reasoning = deltas.map((d) => d.reasoning_content ?? "").join("");
    const pct = [...reasoning.matchAll(/Generating video… (\d+)%/g)].map((x) => Number(x[1]));
    expect(pct).toEqual([1, 46, 95, 100]);
    const content = deltas.map((d) => d.content ?? "").join("");
    const url = VIDEO_TAG.exec(content)![1]!;
    const part = await fetchBytes(url, { range: "bytes=4-11" });
    expect(part.res.status).toBe(206);
    expect(part.res.headers.get("content-range")).toBe(`bytes 4-11/${MP4.length}`);
    expect(part.bytes.equals(MP4.subarray(4, 12))).toBe(true);
    const t2v = (chats()[0]!.body as any).mediaGenInput.textToVideo;
    expect(t2v).toMatchObject({ prompt: "rain over a harbour", aspectRatio: "9:16", duration: 5 });
    expect((chats()[0]!.body as any).message).toBe("rain over a harbour --mode=normal");
  });

  it("uses base_url for the link when it is set", async () => {
    await stack.server.deps.settings.update({ global: { base_url: "https://media.example.test/" } });
    const r = await stack.openai.chat.completions.create({ model: "grok-imagine-video", messages: [{ role: "user", content: "a lighthouse" }] });
    const url = VIDEO_TAG.exec(r.choices[0]!.message.content!)![1]!;
    expect(url).toMatch(/^https:\/\/media\.example\.test\/videos\/[A-Za-z0-9_-]{22}\.mp4$/);
    const local = url.replace("https://media.example.test", stack.url);
    expect((await fetchBytes(local)).bytes.equals(MP4)).toBe(true);
  });

  it("image-to-video: each image uploaded and given a media post of its own; the media-post body names them all", async () => {
    const dataUrl = (b: Buffer, t: string) => `data:${t};base64,${b.toString("base64")}`;
    const r = await stack.openai.chat.completions.create({
      model: "grok-imagine-video",
      messages: [{ role: "user", content: [{ type: "text", text: "make them dance" }, { type: "image_url", image_url: { url: dataUrl(JPEG, "image/jpeg") } }, { type: "image_url", image_url: { url: dataUrl(PNG, "image/png") } }] }],
    });
    const url = VIDEO_TAG.exec(r.choices[0]!.message.content!)![1]!;
    expect((await fetchBytes(url)).bytes.equals(MP4)).toBe(true);
    const uploads = stack.fake.requests.filter((x) => x.path === "/http/upload-file-v2/direct");
    expect(uploads).toHaveLength(2);
    expect(posts().map((p) => (p.body as any).mediaType)).toEqual(["MEDIA_POST_TYPE_IMAGE", "MEDIA_POST_TYPE_IMAGE"]);
    const acc = stack.accounts[0]!;
    for (const p of posts()) expect((p.body as any).mediaUrl).toMatch(new RegExp(`^${stack.fake.assetsUrl}/users/${acc.userId}/[0-9a-f-]{36}/content$`));
    const body = chats()[0]!.body as any;
    const cfg = body.responseMetadata.modelConfigOverride.modelMap.videoGenModelConfig;
    expect(body.modelName).toBe("imagine-video-gen");
    expect(body.mediaGenInput).toBeUndefined();
    expect(cfg).toMatchObject({ aspectRatio: "16:9", videoLength: 6, resolutionName: "720p", isVideoEdit: false, isReferenceToVideo: true });
    expect(cfg.imageReferences).toEqual(posts().map((p) => (p.body as any).mediaUrl));
    expect(body.message).toMatch(/^https:\/\/grok\.com\/imagine\/[0-9a-f-]{36} https:\/\/grok\.com\/imagine\/[0-9a-f-]{36} {2}make them dance --mode=custom$/);
    expect(cfg.parentPostId).toBe(/imagine\/([0-9a-f-]{36})/.exec(body.message)![1]);
    expect(chats()[0]!.headers.referer).toBe(`${stack.fake.url}/imagine/post/${cfg.parentPostId}`);
    expect(new Set([...uploads, ...posts(), ...chats()].map((x) => x.account))).toEqual(new Set([acc.sso]));
  });

  it("video_flow media-post: a video post for the prompt, then the media-post body; auto falls back to it when the current form is refused", async () => {
    await stack.server.deps.settings.update({ grok: { video_flow: "media-post" } });
    const a = await stack.openai.chat.completions.create({ model: "grok-imagine-video", messages: [{ role: "user", content: "a red kite" }] });
    expect(VIDEO_TAG.test(a.choices[0]!.message.content!)).toBe(true);
    expect(posts().map((p) => p.body)).toEqual([{ mediaType: "MEDIA_POST_TYPE_VIDEO", prompt: "a red kite" }]);
    const cfg = (chats()[0]!.body as any).responseMetadata.modelConfigOverride.modelMap.videoGenModelConfig;
    expect(cfg).toEqual({ parentPostId: expect.stringMatching(/^[0-9a-f-]{36}$/), aspectRatio: "16:9", videoLength: 6, resolutionName: "720p" });

    stack.fake.reset();
    await stack.server.deps.settings.update({ grok: { video_flow: "auto" } });
    stack.fake.options.refuseTextToVideo = true; // a grok.com that does not know mediaGenInput.textToVideo
    const b = await stack.openai.chat.completions.create({ model: "grok-imagine-video", messages: [{ role: "user", content: "a blue kite" }] });
    const url = VIDEO_TAG.exec(b.choices[0]!.message.content!)![1]!;
    expect((await fetchBytes(url)).bytes.equals(MP4)).toBe(true);
    expect(chats().map((c) => ((c.body as any).mediaGenInput ? "text-to-video" : "media-post"))).toEqual(["text-to-video", "media-post"]);
    expect(chats()[0]!.rejected?.status).toBe(400);
    expect(new Set(chats().map((c) => c.account)).size).toBe(1); // the same account, no attempt spent
    // remembered: the next video goes straight to the media-post form
    stack.fake.reset();
    await stack.openai.chat.completions.create({ model: "grok-imagine-video", messages: [{ role: "user", content: "a green kite" }] });
    expect(chats().map((c) => ((c.body as any).mediaGenInput ? "text-to-video" : "media-post"))).toEqual(["media-post"]);
  });

  it("Anthropic Messages and the Responses API get the same video answer", async () => {
    const a = await fetch(`${stack.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" }, body: JSON.stringify({ model: "grok-imagine-video", max_tokens: 100, messages: [{ role: "user", content: "a fox" }] }) });
    expect(a.status).toBe(200);
    const text = ((await a.json()) as any).content.filter((b: any) => b.type === "text").map((b: any) => b.text).join("");
    const url = VIDEO_TAG.exec(text)![1]!;
    expect((await fetchBytes(url)).bytes.equals(MP4)).toBe(true);
    const r = await fetch(`${stack.url}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "grok-imagine-video", input: "a hare", store: false }) });
    expect(r.status).toBe(200);
    const out = ((await r.json()) as any).output.filter((o: any) => o.type === "message").flatMap((o: any) => o.content).map((c: any) => c.text).join("");
    expect(VIDEO_TAG.test(out)).toBe(true);
  });

  it("validates duration, aspect ratio, resolution and --mode with 400s naming the field, before any upstream call", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ duration: 16 }, "duration"],
      [{ video_length: 0 }, "video_length"],
      [{ duration: "six" }, "duration"],
      [{ aspect_ratio: "5:4" }, "aspect_ratio"],
      [{ resolution: "1080p" }, "resolution"],
      [{ video_config: { video_length: 30 } }, "video_config.video_length"],
    ];
    for (const [extra, param] of cases) {
      const res = await chat({ model: "grok-imagine-video", messages: [{ role: "user", content: "x" }], ...extra });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(((await res.json()) as any).error.param).toBe(param);
    }
    const mode = await chat({ model: "grok-imagine-video", messages: [{ role: "user", content: "x --mode=wild" }] });
    expect(mode.status).toBe(400);
    expect(((await mode.json()) as any).error.message).toContain("extremely-spicy-or-crazy");
    const empty = await chat({ model: "grok-imagine-video", messages: [{ role: "user", content: "   " }] });
    expect(empty.status).toBe(400);
    expect(chats()).toHaveLength(0);
  });

  it("moderated: an error naming moderation (403 non-stream, in-band after the progress in a stream); the account is not blamed", async () => {
    stack.fake.queue("*", "moderated");
    const err = await stack.openai.chat.completions.create({ model: "grok-imagine-video", messages: [{ role: "user", content: "something" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.message).toMatch(/moderation/);
    expect(err.code).toBe("content_moderated");
    stack.fake.queue("*", "moderated");
    const res = await chat({ model: "grok-imagine-video", stream: true, messages: [{ role: "user", content: "something" }] });
    const { data } = await readSse(res);
    const last = JSON.parse(data.at(-1)!);
    expect(last.error.message).toMatch(/moderation/);
    expect(data.join("")).toContain("Generating video… 95%");
    expect(chats()).toHaveLength(2); // never retried on another account
    expect(stack.server.deps.pool.get(stack.accounts[0]!.sso)!.effectiveStatus).toBe("active");
  });
});

describe("video length against the account tier", () => {
  beforeEach(async () => {
    await stack.server.deps.settings.update({ grok: { video_flow: "text-to-video" } });
  });

  it("Basic-only pool: a longer video is clamped to 6 s (said in the answer), 480p made at 720p; one upstream call, no 429", async () => {
    const r = await stack.openai.chat.completions.create({ model: "grok-imagine-video", messages: [{ role: "user", content: "a long pan" }], duration: 10, resolution: "480p" } as never);
    const content = (r as any).choices[0].message.content as string;
    expect(VIDEO_TAG.test(content)).toBe(true);
    expect(content).toContain("duration clamped from 10 s to 6 s");
    expect(content).toContain("made at 720p");
    expect(chats()).toHaveLength(1);
    expect(chats()[0]!.rejected).toBeUndefined();
    expect((chats()[0]!.body as any).mediaGenInput.textToVideo).toMatchObject({ duration: 6, resolutionName: "720p" });
  });

  it("the media-post form is clamped the same way (the fake answers a Basic account 429 above 6 s, §14.7)", async () => {
    await stack.server.deps.settings.update({ grok: { video_flow: "media-post" } });
    const acc = stack.accounts[0]!;
    const r = await stack.openai.chat.completions.create({ model: "grok-imagine-video", messages: [{ role: "user", content: "clamped" }], duration: 8 } as never);
    expect(VIDEO_TAG.test((r as any).choices[0].message.content)).toBe(true);
    const cfg = (chats()[0]!.body as any).responseMetadata.modelConfigOverride.modelMap.videoGenModelConfig;
    expect(cfg.videoLength).toBe(6);
    expect(chats()).toHaveLength(1);
    expect(chats()[0]!.rejected).toBeUndefined();
    expect(chats()[0]!.account).toBe(acc.sso);
  });

  it("with a SuperGrok account in the pool, a 10 s or 480p video goes to it (and is not clamped)", async () => {
    const sup = await stack.addAccount("super");
    for (const k of ["video", "video_720p"]) stack.fake.setQuota(sup.sso, k, { remaining: 1000, total: 1000 });
    try {
      const r = await stack.openai.chat.completions.create({ model: "grok-imagine-video", messages: [{ role: "user", content: "ten seconds" }], duration: 10 } as never);
      expect((r as any).choices[0].message.content).not.toContain("clamped");
      expect(chats()).toHaveLength(1);
      expect(chats()[0]!.account).toBe(sup.sso);
      expect((chats()[0]!.body as any).mediaGenInput.textToVideo.duration).toBe(10);
      const q = await stack.openai.chat.completions.create({ model: "grok-imagine-video", messages: [{ role: "user", content: "small" }], resolution: "480p" } as never);
      expect(VIDEO_TAG.test((q as any).choices[0].message.content)).toBe(true);
      expect(chats()[1]!.account).toBe(sup.sso);
      expect((chats()[1]!.body as any).mediaGenInput.textToVideo.resolutionName).toBe("480p");
      // a disabled SuperGrok account serves nothing: back to the clamp, not a 403 for want of a tier
      await stack.server.deps.pool.update(sup.sso, { disabled: true });
      const c = await stack.openai.chat.completions.create({ model: "grok-imagine-video", messages: [{ role: "user", content: "again ten" }], duration: 10 } as never);
      expect((c as any).choices[0].message.content).toContain("clamped from 10 s to 6 s");
      expect(chats()[2]!.account).toBe(stack.accounts[0]!.sso);
    } finally {
      await stack.server.deps.pool.remove([sup.sso]);
      stack.accounts.pop();
    }
  });
});
