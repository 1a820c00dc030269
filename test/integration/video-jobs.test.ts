import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/server/config/env.js";
import { createLogger } from "../../src/server/log.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { fixtureBytes, startFakeGrok, type FakeAccount, type FakeGrok } from "../fake-grok/index.js";
import { openapiValidator } from "../support/openapi.js";
import { startStack, waitFor, type Stack } from "../support/stack.js";

/** The Videos API (Sora 2 shape) over grok.com video jobs, with the official SDK. */

const MP4 = fixtureBytes("video.mp4");
const JPEG = fixtureBytes("image.jpg");
const THUMB = fixtureBytes("image-wide.jpg"); // the fake's preview_image.jpg

type Video = Awaited<ReturnType<OpenAI["videos"]["retrieve"]>>;
const RESOURCE_KEYS = ["id", "object", "model", "status", "progress", "created_at", "completed_at", "expires_at", "prompt", "size", "seconds", "remixed_from_video_id", "error"];

async function settle(openai: OpenAI, id: string, timeoutMs = 10_000): Promise<Video> {
  let v: Video | null = null;
  await waitFor(async () => {
    v = await openai.videos.retrieve(id);
    return v.status === "completed" || v.status === "failed";
  }, timeoutMs, 30);
  return v!;
}

describe("Videos API", () => {
  let stack: Stack;
  const chats = () => stack.fake.requests.filter((r) => r.path === "/rest/app-chat/conversations/new");
  beforeAll(async () => {
    stack = await startStack({ accounts: ["basic"] });
    stack.fake.setQuota(stack.accounts[0]!.sso, "video_720p", { remaining: 1000, total: 1000 });
  });
  afterAll(async () => stack?.close());
  beforeEach(() => stack.fake.reset());

  it("create → retrieve (status and progress) → downloadContent: the fake's MP4, Range too; every key of the resource", async () => {
    stack.fake.queue("*", { name: "video", delayMs: 60 });
    const created = await stack.openai.videos.create({ model: "sora-2", prompt: "a paper boat on a pond", seconds: "4", size: "1280x720" });
    expect(created.id).toMatch(/^video_[0-9a-f]{32}$/);
    expect(created.object).toBe("video");
    expect(["queued", "in_progress"]).toContain(created.status);
    for (const k of RESOURCE_KEYS) expect(created).toHaveProperty(k);
    const seen = new Set<number>();
    await waitFor(async () => {
      const v = await stack.openai.videos.retrieve(created.id);
      if (v.status === "in_progress") seen.add(v.progress);
      return v.status === "completed";
    }, 10_000, 10);
    expect([...seen].some((p) => p > 0 && p < 100)).toBe(true);
    const done = await stack.openai.videos.retrieve(created.id);
    expect(done).toMatchObject({ status: "completed", progress: 100, model: "grok-imagine-video", seconds: "4", size: "1280x720", prompt: "a paper boat on a pond", error: null, remixed_from_video_id: null });
    expect(done.completed_at).toBeGreaterThanOrEqual(done.created_at);
    const body = chats()[0]!.body as any;
    expect(body.mediaGenInput.textToVideo).toEqual({ prompt: "a paper boat on a pond", aspectRatio: "16:9", duration: 4, resolutionName: "720p" });
    const content = await stack.openai.videos.downloadContent(created.id);
    expect(content.headers.get("content-type")).toBe("video/mp4");
    expect(Buffer.from(await content.arrayBuffer()).equals(MP4)).toBe(true);
    const range = await fetch(`${stack.url}/v1/videos/${created.id}/content`, { headers: { range: "bytes=100-" } });
    expect(range.status).toBe(206);
    expect(range.headers.get("content-range")).toBe(`bytes 100-${MP4.length - 1}/${MP4.length}`);
    expect(Buffer.from(await range.arrayBuffer()).equals(MP4.subarray(100))).toBe(true);
    const thumb = await stack.openai.videos.downloadContent(created.id, { variant: "thumbnail" });
    expect(Buffer.from(await thumb.arrayBuffer()).equals(THUMB)).toBe(true);
    expect((await fetch(`${stack.url}/v1/videos/${created.id}/content?variant=spritesheet`)).status).toBe(404);
    // without /v1 as well
    expect((await (await fetch(`${stack.url}/videos/${created.id}`)).json()).status).toBe("completed");
    expect(Buffer.from(await (await fetch(`${stack.url}/videos/${created.id}/content`)).arrayBuffer()).equals(MP4)).toBe(true);
  });

  it("matches the spec's VideoResource and VideoListResource; list orders and pages; delete removes the job and its file", async () => {
    const a = await stack.openai.videos.create({ prompt: "first" });
    const b = await stack.openai.videos.create({ prompt: "second" });
    const va = await settle(stack.openai, a.id);
    await settle(stack.openai, b.id);
    const validate = openapiValidator("VideoResource");
    validate(va);
    expect(va.size).toBe("720x1280"); // the API's default size: 9:16
    expect((chats()[0]!.body as any).mediaGenInput.textToVideo.aspectRatio).toBe("9:16");
    const page = await fetch(`${stack.url}/v1/videos?limit=1`).then((r) => r.json());
    openapiValidator("VideoListResource")(page);
    expect(page.data.map((v: Video) => v.id)).toEqual([b.id]);
    expect(page.has_more).toBe(true);
    const next = await fetch(`${stack.url}/v1/videos?limit=1&after=${b.id}`).then((r) => r.json());
    expect(next.data.map((v: Video) => v.id)).toEqual([a.id]);
    const asc = await fetch(`${stack.url}/v1/videos?order=asc&limit=100`).then((r) => r.json());
    const ids = asc.data.map((v: Video) => v.id);
    expect(ids.indexOf(a.id)).toBeLessThan(ids.indexOf(b.id));
    const del = await stack.openai.videos.delete(a.id);
    expect(del).toEqual({ id: a.id, object: "video.deleted", deleted: true });
    const gone = await stack.openai.videos.retrieve(a.id).catch((e) => e);
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError);
    expect((await stack.server.deps.media.list("video")).length).toBeGreaterThan(0);
    const names = (await stack.server.deps.media.list("video")).map((m) => m.name);
    const stored = JSON.parse((await stack.server.deps.store.kvGet(`videos:job:${b.id}`))!);
    expect(names).toContain(stored.video);
  });

  it("input_reference as a multipart file (as the SDK sends it): uploaded and posted as the image-to-video input", async () => {
    const v = await stack.openai.videos.create({ prompt: "the cat blinks", input_reference: await toFile(JPEG, "cat.jpg", { type: "image/jpeg" }) });
    const done = await settle(stack.openai, v.id);
    expect(done.status).toBe("completed");
    const post = stack.fake.requests.find((r) => r.path === "/rest/media/post/create")!;
    expect((post.body as any).mediaType).toBe("MEDIA_POST_TYPE_IMAGE");
    const cfg = (chats()[0]!.body as any).responseMetadata.modelConfigOverride.modelMap.videoGenModelConfig;
    expect(cfg.imageReferences).toEqual([(post.body as any).mediaUrl]);
    const upload = stack.fake.requests.find((r) => r.path === "/http/upload-file-v2/direct")!;
    expect((upload.body as any).files[0]).toMatchObject({ contentType: "image/jpeg", size: JPEG.length });
    expect(Buffer.from(await (await stack.openai.videos.downloadContent(v.id)).arrayBuffer()).equals(MP4)).toBe(true);
  });

  it("JSON bodies too; bad input is a 400 naming the field, before any upstream call", async () => {
    const post = (body: unknown, type = "application/json") => fetch(`${stack.url}/v1/videos`, { method: "POST", headers: { "content-type": type }, body: typeof body === "string" ? body : JSON.stringify(body) });
    const ok = await post({ prompt: "json body", seconds: 3, aspect_ratio: "1:1" });
    expect(ok.status).toBe(200);
    const v = (await ok.json()) as Video;
    expect((await settle(stack.openai, v.id)).status).toBe("completed");
    expect((chats()[0]!.body as any).mediaGenInput.textToVideo).toMatchObject({ duration: 3, aspectRatio: "1:1" });
    stack.fake.reset();
    const cases: Array<[unknown, string]> = [
      [{}, "prompt"],
      [{ prompt: "x", seconds: "20" }, "seconds"],
      [{ prompt: "x", seconds: "abc" }, "seconds"],
      [{ prompt: "x", size: "big" }, "size"],
      [{ prompt: "x", model: "grok-chat-fast" }, "model"],
      [{ prompt: "x", input_reference: { file_id: "file_1" } }, "input_reference.file_id"],
      [{ prompt: "x --mode=loud" }, "prompt"],
    ];
    for (const [body, param] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as any).error.param).toBe(param);
    }
    const notImage = await stack.openai.videos.create({ prompt: "x", input_reference: await toFile(Buffer.from("not an image"), "x.png", { type: "image/png" }) }).catch((e) => e);
    expect(notImage).toBeInstanceOf(OpenAI.BadRequestError);
    expect(notImage.error.param).toBe("input_reference");
    expect(chats()).toHaveLength(0);
    expect((await fetch(`${stack.url}/v1/videos/video_${"0".repeat(32)}`)).status).toBe(404);
    expect((await fetch(`${stack.url}/v1/videos/nonsense`)).status).toBe(404);
  });

  it("a Basic-only pool clamps 12 s to 6 s and says so; the job reports what was made", async () => {
    const v = await stack.openai.videos.create({ prompt: "long", seconds: "12" });
    const done = await settle(stack.openai, v.id);
    expect(done).toMatchObject({ status: "completed", seconds: "6" });
    expect((done as any).x_grok.notes[0]).toContain("clamped from 12 s to 6 s");
    expect(chats()).toHaveLength(1);
    expect(chats()[0]!.rejected).toBeUndefined();
    expect((chats()[0]!.body as any).mediaGenInput.textToVideo.duration).toBe(6);
  });

  it("a video job may run past stream_total_timeout (its deadline is at least grok.com's 15 minutes)", async () => {
    await stack.server.deps.settings.update({ grok: { stream_total_timeout: 1 } });
    try {
      stack.fake.queue("*", { name: "video", delayMs: 350 }); // ≈ 2 s of frames
      const v = await stack.openai.videos.create({ prompt: "slow but fine" });
      expect((await settle(stack.openai, v.id)).status).toBe("completed");
    } finally {
      await stack.server.deps.settings.update({ grok: { stream_total_timeout: 600 } });
    }
  });

  it("moderated generations fail with an error naming moderation", async () => {
    stack.fake.queue("*", "moderated");
    const v = await stack.openai.videos.create({ prompt: "forbidden" });
    const done = await settle(stack.openai, v.id);
    expect(done.status).toBe("failed");
    expect(done.error!.code).toBe("moderation_blocked");
    expect(done.error!.message).toMatch(/moderation/);
    expect((await fetch(`${stack.url}/v1/videos/${v.id}/content`)).status).toBe(404);
    expect(chats()).toHaveLength(1);
  });

  it("the video bucket of the pool is read, spent and synced; an exhausted bucket is a 429-failed job, chat is unaffected", async () => {
    const acc = stack.accounts[0]!;
    const pool = stack.server.deps.pool;
    stack.fake.setQuota(acc.sso, "video_720p", { remaining: 10, total: 10 });
    await pool.syncOne(acc.sso);
    expect(pool.get(acc.sso)!.quota.video_720p).toMatchObject({ remaining: 10, confidence: "confirmed" });
    const v = await stack.openai.videos.create({ prompt: "counted" });
    await settle(stack.openai, v.id);
    expect(pool.get(acc.sso)!.quota.video_720p!.remaining).toBe(9); // spent locally by the lease
    expect(stack.fake.account(acc.sso)!.quota.video_720p!.remaining).toBe(9);
    await pool.syncOne(acc.sso);
    expect(pool.get(acc.sso)!.quota.video_720p).toMatchObject({ remaining: 9, confidence: "confirmed" });

    stack.fake.setQuota(acc.sso, "video_720p", { remaining: 0, total: 10, nextAvailableAt: new Date(Date.now() + 3_600_000).toISOString() });
    await pool.syncOne(acc.sso);
    const w = await stack.openai.videos.create({ prompt: "no quota left" });
    const failed = await settle(stack.openai, w.id);
    expect(failed.status).toBe("failed");
    expect(failed.error!.code).toBe("rate_limited");
    expect(chats()).toHaveLength(1); // the known-empty bucket was never sent upstream
    const chat = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: [{ role: "user", content: "hi" }] });
    expect(chat.choices[0]!.message.content).toBeTruthy();
    stack.fake.setQuota(acc.sso, "video_720p", { remaining: 1000, total: 1000 });
    await pool.syncOne(acc.sso);
  });
});

describe("a restart in the middle of a video job", () => {
  let fake: FakeGrok;
  let acc: FakeAccount;
  let dataDir: string;
  let server: RunningServer | null = null;
  const start = async () => {
    const runtime = loadRuntimeConfig({ PORT: "0", GROK2API_DATA_DIR: dataDir, GROK2API_UPSTREAM_URL: fake.url, GROK2API_ASSETS_URL: fake.assetsUrl, GROK2API_TRANSPORT: "fetch", GROK2API_ADMIN_PASSWORD: "test-admin-password", LOG_LEVEL: "silent" });
    const s = await startServer(runtime, { log: createLogger("silent") });
    if (!s.deps.pool.get(acc.sso)) await s.deps.pool.add([acc.sso], { tier: "basic", tierSource: "manual" });
    return s;
  };
  const client = (s: RunningServer) => new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "k", maxRetries: 0 });
  beforeAll(async () => {
    fake = await startFakeGrok();
    acc = fake.addAccount({ tier: "basic" });
    fake.setQuota(acc.sso, "video_720p", { remaining: 100, total: 100 });
    dataDir = mkdtempSync(path.join(tmpdir(), "g2a-video-restart-"));
  });
  afterAll(async () => {
    await server?.close();
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("a stopped server's running job is reported failed (interrupted, with the reason) by the next server on the same data", async () => {
    server = await start();
    fake.queue("*", { name: "video", delayMs: 400 });
    const v = await client(server).videos.create({ prompt: "slow harbour" });
    await waitFor(async () => (await client(server!).videos.retrieve(v.id)).status === "in_progress", 5000, 20);
    await server.close();
    server = await start();
    const after = await client(server).videos.retrieve(v.id);
    expect(after.status).toBe("failed");
    expect(after.error!.code).toBe("interrupted");
    expect(after.error!.message).toMatch(/stopped while grok\.com was generating/);
    expect(after.error!.message).toMatch(/create the video again/);
    // and a job the new server completes still works on the same store
    const w = await client(server).videos.create({ prompt: "after restart" });
    expect((await settle(client(server), w.id)).status).toBe("completed");
  });

  it("a job left in progress by a crashed process is swept as interrupted when the instance starts again", async () => {
    const id = `video_${"ab".repeat(16)}`;
    const rec = { id, model: "grok-imagine-video", prompt: "crashed", status: "in_progress", progress: 46, created_at: 1, completed_at: null, expires_at: null, size: "720x1280", seconds: "6", aspect_ratio: "9:16", resolution: "720p", notes: [], error: null, instance: server!.deps.media.instance, heartbeat_at: Date.now(), video: null, thumbnail: null };
    await server!.deps.store.kvSet(`videos:job:${id}`, JSON.stringify(rec));
    const index = JSON.parse((await server!.deps.store.kvGet("videos:index")) ?? "[]");
    await server!.deps.store.kvSet("videos:index", JSON.stringify([...index, id]));
    await server!.close(); // (the record is not one of this server's runs: a clean stop leaves it as it is)
    expect(JSON.parse((await readKv(dataDir, `videos:job:${id}`))!).status).toBe("in_progress");
    server = await start();
    expect(JSON.parse((await readKv(dataDir, `videos:job:${id}`))!).status).toBe("failed"); // swept at start, before any GET
    const after = await client(server).videos.retrieve(id);
    expect(after).toMatchObject({ status: "failed", progress: 46, error: { code: "interrupted" } });
    expect(after.error!.message).toMatch(/restarted/);
  });

  it("another instance's job is trusted while its heartbeat is fresh, and reported interrupted once it is stale", async () => {
    const put = async (id: string, heartbeatAgoMs: number) => {
      const rec = { id, model: "grok-imagine-video", prompt: "elsewhere", status: "in_progress", progress: 46, created_at: 1, completed_at: null, expires_at: null, size: "720x1280", seconds: "6", aspect_ratio: "9:16", resolution: "720p", notes: [], error: null, instance: "other-host:8000", heartbeat_at: Date.now() - heartbeatAgoMs, video: null, thumbnail: null };
      await server!.deps.store.kvSet(`videos:job:${id}`, JSON.stringify(rec));
    };
    const fresh = `video_${"cd".repeat(16)}`;
    const stale = `video_${"ef".repeat(16)}`;
    await put(fresh, 10_000);
    await put(stale, 4 * 60_000);
    expect(await client(server!).videos.retrieve(fresh)).toMatchObject({ status: "in_progress", progress: 46 });
    const s = await client(server!).videos.retrieve(stale);
    expect(s).toMatchObject({ status: "failed", error: { code: "interrupted" } });
    expect(s.error!.message).toContain("other-host:8000");
    const content = await fetch(`${server!.url}/v1/videos/${fresh}/content`);
    expect(content.status).toBe(404);
    expect(((await content.json()) as any).error.message).toMatch(/in_progress \(46%\)/);
  });
});

/** Reads a key of the file store's kv.json directly (what is on disk, not what a server makes of it). */
async function readKv(dir: string, key: string): Promise<string | null> {
  const { readFile } = await import("node:fs/promises");
  const raw = JSON.parse(await readFile(path.join(dir, "kv.json"), "utf8")) as Record<string, unknown>;
  const v = (raw.entries ?? raw) as Record<string, { value?: string } | string>;
  const e = v[key];
  return e === undefined ? null : typeof e === "string" ? e : (e.value ?? null);
}
