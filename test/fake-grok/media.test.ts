import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeAccount, FakeGrok } from "./index.js";
import { IMAGINE_FILE_SOURCE, USAGE_LIMIT_MESSAGE, fixtureBytes, startFakeGrok } from "./index.js";
import { cookieFor, frames, gatewayTurn, itemCreate, openWs, postJson, responseCreate, restHeaders, sessionCreate, UA, type WsClient } from "./test-helpers.js";

let fake: FakeGrok;
let acc: FakeAccount;

beforeAll(async () => {
  fake = await startFakeGrok();
  acc = fake.addAccount({ tier: "super" });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const resp = (f: any) => f.result?.response ?? {};
const JPEG = fixtureBytes("image.jpg");
const PNG = fixtureBytes("image.png");

function multipart(parts: Array<{ name: string; filename?: string; type?: string; data: Buffer | string }>): { body: Buffer; type: string } {
  const boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename.replace(/["\\]/g, "\\$&")}"` : ""}\r\n`;
    if (p.type) head += `Content-Type: ${p.type}\r\n`;
    chunks.push(Buffer.from(head + "\r\n"), Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data), Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

async function uploadV2(a: FakeAccount, parts: Parameters<typeof multipart>[0]): Promise<Response> {
  const mp = multipart(parts);
  return fetch(`${fake.url}/http/upload-file-v2/direct`, { method: "POST", headers: restHeaders(fake, a, { "content-type": mp.type, "x-xai-request-id": undefined, "x-statsig-id": undefined }), body: new Uint8Array(mp.body) });
}

async function uploadImage(a: FakeAccount, source?: string): Promise<{ fileMetadataId: string; fileUri: string }> {
  const r = await uploadV2(a, [{ name: "file", filename: "cat.jpg", type: "image/jpeg", data: JPEG }, ...(source ? [{ name: "file_source", data: source }] : [])]);
  expect(r.status).toBe(200);
  return (await r.json()).fileMetadata;
}

const asset = (path: string, cookie?: string) => fetch(`${fake.assetsUrl}/${path.replace(/^\//, "")}`, { headers: { "user-agent": UA, ...(cookie ? { cookie } : {}) } });

describe("uploads (§6)", () => {
  it("multipart v2: stores bytes, returns fileMetadata; status poll returns the same; recorded as {fields, files}", async () => {
    const r = await uploadV2(acc, [{ name: "file", filename: "猫 \"pic\".png", type: "image/png", data: PNG }]);
    expect(r.status).toBe(200);
    const body = await r.json();
    expect(body.terminalError).toBeNull();
    expect(body.uploadId).toMatch(/^upl_[0-9a-f-]{36}$/);
    expect(body.fileMetadata.fileId).toBe(body.fileMetadata.fileMetadataId);
    expect(body.fileMetadata.fileUri).toBe(`users/${acc.userId}/${body.fileMetadata.fileMetadataId}/content`);
    const rec = fake.requests.at(-1)!;
    expect((rec.body as any).files[0]).toMatchObject({ field: "file", filename: "猫 \"pic\".png", contentType: "image/png", size: PNG.length });
    const st = await fetch(`${fake.url}/rest/app-chat/upload-file-v2/status?uploadId=${body.uploadId}`, { headers: restHeaders(fake, acc) });
    expect((await st.json()).fileMetadata).toEqual(body.fileMetadata);
    const got = await asset(body.fileMetadata.fileUri, cookieFor(acc));
    expect(got.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await got.arrayBuffer())).toEqual(PNG);
  });

  it("multipart v2 validation: file part, Content-Type, file_source value, tiny images, lying types", async () => {
    const bad = async (parts: Parameters<typeof multipart>[0]) => (await uploadV2(acc, parts)).status;
    expect(await bad([{ name: "other", filename: "a.jpg", type: "image/jpeg", data: JPEG }])).toBe(400);
    expect(await bad([{ name: "file", filename: "a.jpg", data: JPEG }])).toBe(400);
    expect(await bad([{ name: "file", filename: "a.jpg", type: "image/jpeg", data: JPEG }, { name: "file_source", data: "SOMETHING_ELSE" }])).toBe(400);
    expect(await bad([{ name: "file", filename: "a.png", type: "image/png", data: fixtureBytes("tiny-1x1.png") }])).toBe(400);
    expect((await (await uploadV2(acc, [{ name: "file", filename: "a.png", type: "image/png", data: fixtureBytes("tiny-1x1.png") }])).json()).error.message).toBe("Image dimensions are insufficient");
    expect(await bad([{ name: "file", filename: "a.png", type: "image/png", data: JPEG }])).toBe(400);
    expect(await bad([{ name: "file", filename: "a.jpg", type: "image/jpeg", data: JPEG }, { name: "file_source", data: IMAGINE_FILE_SOURCE }])).toBe(200);
    expect(await bad([{ name: "file", filename: "notes.txt", type: "text/plain", data: "hello" }])).toBe(200);
    const noOrigin = await fetch(`${fake.url}/http/upload-file-v2/direct`, { method: "POST", headers: { cookie: cookieFor(acc), "user-agent": UA, "content-type": "multipart/form-data; boundary=x" }, body: "--x--" });
    expect(noOrigin.status).toBe(403);
  });

  it("async uploads answer only an uploadId that the status poll and the gateway accept", async () => {
    fake.options.asyncUploads = true;
    const r = await uploadV2(acc, [{ name: "file", filename: "a.jpg", type: "image/jpeg", data: JPEG }]);
    const body = await r.json();
    expect(body).toEqual({ uploadId: body.uploadId, terminalError: null });
    const st = await (await fetch(`${fake.url}/rest/app-chat/upload-file-v2/status?uploadId=${body.uploadId}`, { headers: restHeaders(fake, acc) })).json();
    expect(st.fileMetadata.fileMetadataId).toMatch(/^[0-9a-f-]{36}$/);
    const c = await openWs(fake, acc);
    c.send(sessionCreate());
    const sid = (await c.waitType("session.created")).session_id;
    c.send({ session_id: sid, event: { type: "conversation.item.create", item: { type: "message", role: "user", file_attachment_ids: [body.uploadId], x_grok: { client_message_id: crypto.randomUUID(), input_chunks: [{ mention: { target: { file_mention: { file_id: body.uploadId } } } }, { text: { text: "what is it" } }] } }, file_attachment_ids: [body.uploadId] } });
    c.send(responseCreate(sid));
    expect((await c.waitType("response.done")).event.response.status).toBe("completed");
    c.close();
  });

  it("legacy JSON upload-file (also text/plain) and /api/rpc uploadFile", async () => {
    const ok = await postJson(fake, acc, "/rest/app-chat/upload-file", { fileName: "image.png", fileMimeType: "image/png", content: PNG.toString("base64") }, { "content-type": "text/plain;charset=UTF-8" });
    expect(ok.status).toBe(200);
    const body = await ok.json();
    expect(Object.keys(body).sort()).toEqual(["fileMetadataId", "fileMimeType", "fileName", "fileUri"]);
    const dataUri = await postJson(fake, acc, "/rest/app-chat/upload-file", { fileName: "image.png", fileMimeType: "image/png", content: `data:image/png;base64,${PNG.toString("base64")}` });
    expect(dataUri.status).toBe(400);
    const noStatsig = await postJson(fake, acc, "/rest/app-chat/upload-file", { fileName: "i.png", fileMimeType: "image/png", content: PNG.toString("base64") }, { "x-statsig-id": undefined });
    expect(noStatsig.status).toBe(403);
    const rpc = await postJson(fake, acc, "/api/rpc", { rpc: "uploadFile", req: { fileName: "i.jpg", fileMimeType: "image/jpeg", content: JPEG.toString("base64") } });
    expect(rpc.status).toBe(200);
    // the id is usable as a REST attachment of the same account only
    const chat = await postJson(fake, acc, "/rest/app-chat/conversations/new", { message: "what is this", modeId: "fast", fileAttachments: [body.fileMetadataId] });
    expect(chat.status).toBe(200);
    const fr = await frames(chat);
    expect(resp(fr[1]).userResponse.fileAttachments).toEqual([body.fileMetadataId]);
    const other = fake.addAccount();
    expect((await postJson(fake, other, "/rest/app-chat/conversations/new", { message: "x", modeId: "fast", fileAttachments: [body.fileMetadataId] })).status).toBe(400);
  });
});

describe("assets origin", () => {
  it("403 empty without a cookie, 403 HTML for another account's path, 404 for unknown keys", async () => {
    const { fileUri } = await uploadImage(acc);
    const none = await asset(fileUri);
    expect(none.status).toBe(403);
    expect(await none.text()).toBe("");
    const other = fake.addAccount();
    const foreign = await asset(fileUri, cookieFor(other));
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toContain("403 Forbidden");
    const missing = await asset(`users/${acc.userId}/6f1d2c3b-8e4a-4b5c-9d0e-1f2a3b4c5d6e/content`, cookieFor(acc));
    expect(missing.status).toBe(404);
    await missing.text();
    const ok = await asset(fileUri, cookieFor(acc));
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(JPEG);
    expect(fake.requests.filter((r) => r.server === "assets").map((r) => r.rejected?.status)).toEqual([403, 403, 404, undefined]);
  });
});

describe("image edit (mediaGenInput.imageToImage)", () => {
  it("validates the body and streams partial + final images", async () => {
    const { fileMetadataId } = await uploadImage(acc, IMAGINE_FILE_SOURCE);
    const body = (inputAssets: unknown[]) => ({ modelName: "imagine-image-edit", message: "make it blue", enableImageStreaming: true, enableSideBySide: true, sendFinalMetadata: true, mediaGenInput: { imageToImage: { prompt: "make it blue", inputAssets, aspectRatio: "1:1" } } });
    expect((await postJson(fake, acc, "/rest/app-chat/conversations/new", body([]))).status).toBe(400);
    expect((await postJson(fake, acc, "/rest/app-chat/conversations/new", body(["6f1d2c3b-8e4a-4b5c-9d0e-1f2a3b4c5d6e"]))).status).toBe(400);
    expect((await postJson(fake, acc, "/rest/app-chat/conversations/new", { ...body([fileMetadataId]), modelName: "grok-3" })).status).toBe(400);
    const before = fake.account(acc.sso)!.quota.image_edit!.remaining;
    const fr = await frames(await postJson(fake, acc, "/rest/app-chat/conversations/new", body([fileMetadataId]), { referer: `${fake.url}/imagine` }));
    const imgs = fr.map((f) => resp(f).streamingImageGenerationResponse).filter(Boolean);
    expect(imgs.map((i) => i.progress)).toEqual([50, 100]);
    expect(imgs[0].imageUrl).toMatch(/-part-0\/image\.jpg$/);
    const final = resp(fr.find((f) => resp(f).modelResponse)).modelResponse.generatedImageUrls[0];
    expect(final).toBe(imgs[1].imageUrl);
    expect((await asset(final, cookieFor(acc))).headers.get("content-type")).toBe("image/jpeg");
    expect(fake.account(acc.sso)!.quota.image_edit!.remaining).toBe(before - 1);
    fake.queue(acc.sso, "moderated");
    const mod = await postJson(fake, acc, "/rest/app-chat/conversations/new", body([fileMetadataId]));
    expect(mod.status).toBe(403);
    expect(await mod.json()).toEqual({ error: { code: "content-moderated", message: "rejected" } });
  });
});

describe("video (mediaGenInput.textToVideo)", () => {
  const t2v = (extra: Record<string, unknown> = {}) => ({
    modelName: "imagine-video-gen", message: "rain clears over a harbour --mode=custom", enableImageStreaming: true, enableSideBySide: true, sendFinalMetadata: true,
    responseMetadata: { experiments: [], modelConfigOverride: { modelMap: {} } },
    mediaGenInput: { textToVideo: { prompt: "rain clears over a harbour", aspectRatio: "9:16", duration: 6, resolutionName: "720p", ...extra } },
    kind: "CONVERSATION_KIND_IMAGINE",
  });

  it("streams progress 1 → 46 → 95 → 100 with videoUrl and thumbnail; assets and upscale work", async () => {
    for (const bad of [t2v({ duration: 16 }), t2v({ resolutionName: "1080p" }), { ...t2v(), kind: undefined }]) {
      expect((await postJson(fake, acc, "/rest/app-chat/conversations/new", bad)).status).toBe(400);
    }
    const fr = await frames(await postJson(fake, acc, "/rest/app-chat/conversations/new", t2v(), { referer: `${fake.url}/imagine` }));
    const v = fr.map((f) => resp(f).streamingVideoGenerationResponse).filter(Boolean);
    expect(v.map((x) => x.progress)).toEqual([1, 46, 95, 100]);
    const last = v.at(-1);
    expect(last.videoUrl).toBe(`users/${acc.userId}/generated/${last.videoId}/generated_video.mp4`);
    expect(last.videoPostId).toMatch(/^[0-9a-f-]{36}$/);
    expect(last.resolutionName).toBe("720p");
    const mp4 = await asset(last.videoUrl, cookieFor(acc));
    expect(mp4.headers.get("content-type")).toBe("video/mp4");
    expect(Buffer.from(await mp4.arrayBuffer()).subarray(4, 8).toString()).toBe("ftyp");
    expect((await asset(last.thumbnailImageUrl, cookieFor(acc))).headers.get("content-type")).toBe("image/jpeg");
    expect((await asset(last.audioUrls[0], cookieFor(acc))).headers.get("content-type")).toBe("audio/flac");
    const range = await fetch(`${fake.assetsUrl}/${last.videoUrl}`, { headers: { cookie: cookieFor(acc), range: "bytes=0-9" } });
    expect(range.status).toBe(206);
    expect(range.headers.get("content-range")).toMatch(/^bytes 0-9\/\d+$/);
    expect(resp(fr.find((f) => resp(f).modelResponse)).modelResponse.fileAttachments).toEqual([last.videoId]);
    const up = await postJson(fake, acc, "/rest/media/video/upscale", { videoId: last.videoId });
    const hd = (await up.json()).hdMediaUrl as string;
    expect(hd).toBe(`${fake.assetsUrl}/users/${acc.userId}/generated/${last.videoId}/generated_video_hd.mp4`);
    expect((await fetch(hd, { headers: { cookie: cookieFor(acc) } })).status).toBe(200);
    expect((await postJson(fake, acc, "/rest/media/video/upscale", { videoId: "6f1d2c3b-8e4a-4b5c-9d0e-1f2a3b4c5d6e" })).status).toBe(404);
  });

  it("delayMs spaces the progress frames; moderated has no URL; 480p needs a paid quota", async () => {
    fake.queue(acc.sso, { name: "video", delayMs: 30 }, "moderated");
    const t0 = Date.now();
    await frames(await postJson(fake, acc, "/rest/app-chat/conversations/new", t2v()));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    const mod = await frames(await postJson(fake, acc, "/rest/app-chat/conversations/new", t2v()));
    const last = mod.map((f) => resp(f).streamingVideoGenerationResponse).filter(Boolean).at(-1);
    expect(last.moderated).toBe(true);
    expect(last.videoUrl).toBeUndefined();
    const basic = fake.addAccount({ tier: "basic" });
    const r = await postJson(fake, basic, "/rest/app-chat/conversations/new", t2v({ resolutionName: "480p" }));
    expect(r.status).toBe(429);
    expect((await r.json()).error.code).toBe(8);
  });

  it("legacy flows: toolOverrides.videoGen and media posts (snake_case and camelCase), create-link", async () => {
    const { fileUri } = await uploadImage(acc);
    const snake = await postJson(fake, acc, "/rest/media/post/create", { media_url: `https://assets.grok.com/${fileUri}`, media_type: "MEDIA_POST_TYPE_IMAGE" });
    const camel = await postJson(fake, acc, "/rest/media/post/create", { mediaUrl: `${fake.assetsUrl}/${fileUri}`, mediaType: "MEDIA_POST_TYPE_IMAGE" });
    const textPost = await postJson(fake, acc, "/rest/media/post/create", { mediaType: "MEDIA_POST_TYPE_VIDEO", prompt: "a cat surfing" });
    for (const r of [snake, camel, textPost]) expect(r.status).toBe(200);
    const postId = (await snake.json()).post.id;
    expect((await camel.json()).post.id).not.toBe(postId);
    expect((await postJson(fake, acc, "/rest/media/post/create", { mediaType: "MEDIA_POST_TYPE_GIF" })).status).toBe(400);
    const link = await postJson(fake, acc, "/rest/media/post/create-link", { postId, source: "post-page", platform: "web" });
    expect((await link.json()).shareLink).toContain(postId);
    const legacy = await frames(await postJson(fake, acc, "/rest/app-chat/conversations/new", {
      temporary: true, modelName: "grok-3", message: `https://grok.com/imagine/${postId}  make it move --mode=custom`, toolOverrides: { videoGen: true },
      responseMetadata: { modelConfigOverride: { modelMap: { videoGenModelConfig: { parentPostId: postId, aspectRatio: "16:9", videoLength: 6 } } } },
    }));
    expect(legacy.some((f) => resp(f).streamingVideoGenerationResponse?.progress === 100)).toBe(true);
  });
});

describe("Imagine WebSocket /ws/imagine/listen", () => {
  const request = (n: number, extra: Record<string, unknown> = {}) => ({
    type: "conversation.item.create", timestamp: Date.now(),
    item: { type: "message", content: [{ requestId: crypto.randomUUID(), text: "a red fox in snow", type: "input_text", properties: { section_count: 0, is_kids_mode: false, enable_nsfw: false, skip_upsampler: false, enable_side_by_side: true, is_initial: false, aspect_ratio: "16:9", enable_pro: false, num_generations: n, ...extra } }] },
  });
  const reset = () => ({ type: "conversation.item.create", timestamp: Date.now(), item: { type: "message", content: [{ type: "reset" }] } });
  const open = () => openWs(fake, acc, { path: "/ws/imagine/listen" });
  const round = async (c: WsClient, n: number) => {
    c.send(reset());
    c.send(request(n));
    await c.waitFor(() => c.messages.filter((m) => m.current_status === "completed").length >= n || c.messages.some((m) => m.type === "error"));
  };

  it("start_stage, previews, finals with blobs, completed; per-image quota; keeps the socket for another round", async () => {
    const before = fake.account(acc.sso)!.quota.image_pro!.remaining;
    const c = await open();
    await round(c, 2);
    const m = c.messages;
    expect(m.slice(0, 2).map((x) => x.current_status)).toEqual(["start_stage", "start_stage"]);
    expect(m[0]).toMatchObject({ type: "json", order: 0, width: 1280, height: 720 });
    const finals = m.filter((x) => x.type === "image" && x.percentage_complete === 100);
    expect(finals).toHaveLength(2);
    expect(Buffer.from(finals[0].blob, "base64").subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(finals[0].url).toBe(`${fake.assetsUrl}/imagine-public/images/${finals[0].id}.jpg`);
    const pub = await fetch(finals[0].url);
    expect(pub.headers.get("content-type")).toBe("image/jpeg");
    const idxFinal = m.findIndex((x) => x.id === finals[0].id && x.percentage_complete === 100);
    const idxDone = m.findIndex((x) => x.image_id === finals[0].id && x.current_status === "completed");
    expect(idxFinal).toBeLessThan(idxDone);
    expect(fake.account(acc.sso)!.quota.image_pro!.remaining).toBe(before - 2);
    await round(c, 3);
    expect(c.messages.filter((x) => x.current_status === "completed")).toHaveLength(5);
    c.close();
  });

  it("out-of-order, moderated, close variant, invalid requests and exhausted quota", async () => {
    fake.queue(acc.sso, { name: "imagine", variant: "out-of-order" }, "moderated", { name: "imagine", variant: "close" });
    const c = await open();
    await round(c, 1);
    const id = c.messages[0].image_id;
    expect(c.messages.findIndex((x) => x.current_status === "completed")).toBeLessThan(c.messages.findIndex((x) => x.id === id && x.percentage_complete === 100));
    c.messages.length = 0;
    await round(c, 1);
    expect(c.messages.find((x) => x.current_status === "completed").moderated).toBe(true);
    expect(c.messages.some((x) => x.percentage_complete === 100)).toBe(false);
    c.messages.length = 0;
    await round(c, 1);
    expect(await c.closed).toBe(1000);
    const d = await open();
    d.send(request(11));
    expect((await d.waitType("error")).err_code).toBe("invalid_request");
    d.send(request(1, { aspect_ratio: "5:4" }));
    await d.waitFor(() => d.messages.filter((x) => x.type === "error").length === 2);
    fake.setQuota(acc.sso, "image_pro", { remaining: 0 });
    d.send(request(1));
    await d.waitFor(() => d.messages.filter((x) => x.type === "error").length === 3);
    expect(d.messages.at(-1)).toEqual({ type: "error", err_code: "rate_limit_exceeded", err_msg: USAGE_LIMIT_MESSAGE });
    d.close();
    fake.setQuota(acc.sso, "image_pro", { remaining: 50 });
  });

  it("handshake failures and no x-userid needed", async () => {
    fake.queue(acc.sso, "http-429");
    const err: any = await open().catch((e) => e);
    expect(err.status).toBe(429);
    const c = await open();
    expect(fake.requests.at(-1)!.path).toBe("/ws/imagine/listen");
    c.close();
  });
});

describe("TTS audio and account setup", () => {
  it("serves WAV for an assistant response (206 for Range), 404 for unknown or foreign ids", async () => {
    const g = await gatewayTurn(fake, acc);
    const responseId = g.events.at(-1).event.response.id;
    g.client.close();
    const get = (id: string, a: FakeAccount, extra: Record<string, string> = {}) =>
      fetch(`${fake.url}/http/app-chat/read-response-audio-file/${id}`, { headers: { ...restHeaders(fake, a), accept: "audio/wav,audio/*,*/*", "accept-encoding": "identity", ...extra } });
    const full = await get(responseId, acc);
    expect(full.status).toBe(200);
    expect(full.headers.get("content-type")).toBe("audio/wav");
    const wav = Buffer.from(await full.arrayBuffer());
    expect(wav.subarray(0, 4).toString()).toBe("RIFF");
    expect(wav.subarray(8, 12).toString()).toBe("WAVE");
    const ranged = await get(responseId, acc, { range: "bytes=0-" });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe(`bytes 0-${wav.length - 1}/${wav.length}`);
    await ranged.arrayBuffer();
    expect((await get("6f1d2c3b-8e4a-4b5c-9d0e-1f2a3b4c5d6e", acc)).status).toBe(404);
    expect((await get(responseId, fake.addAccount())).status).toBe(404);
    expect((await get(responseId, acc, { "x-statsig-id": "" })).status).toBe(403);
  });

  it("tos, birth date (second change refused with the WKE marker) and NSFW feature controls", async () => {
    const a = fake.addAccount();
    expect(await (await postJson(fake, a, "/rest/auth/set-tos-accepted", {})).json()).toEqual({});
    expect((await postJson(fake, a, "/rest/auth/set-birth-date", { birthDate: "1990-01-01T00:00:00.000Z" })).status).toBe(200);
    const again = await postJson(fake, a, "/rest/auth/set-birth-date", { birthDate: "1990-01-01T00:00:00.000Z" });
    expect(again.status).toBe(429);
    expect(await again.text()).toContain("[WKE=account:birth-date-change-limit-reached]");
    const msg = Buffer.from([0x0a, 0x02, 0x08, 0x01]);
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, msg.length]), msg]);
    const r = await fetch(`${fake.url}/auth_mgmt.AuthManagement/UpdateUserFeatureControls`, { method: "POST", headers: restHeaders(fake, a, { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", "x-xai-request-id": undefined }), body: frame });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/grpc-web+proto");
    const body = Buffer.from(await r.arrayBuffer());
    expect(body[0]).toBe(0x80);
    expect(body.subarray(5).toString()).toBe("grpc-status:0\r\n");
  });

  it("serves the mode catalogue", async () => {
    const r = await postJson(fake, acc, "/rest/modes", { locale: "en" });
    expect((await r.json()).modes.map((m: any) => m.modeId)).toEqual(["auto", "fast", "expert", "heavy"]);
  });
});

describe("gateway image turns cost one fast query", () => {
  it("Drawing: prompts run the Lite image script on the fast quota", async () => {
    const before = fake.account(acc.sso)!.quota.fast!.remaining;
    const c = await openWs(fake, acc);
    c.send(sessionCreate("fast"));
    const sid = (await c.waitType("session.created")).session_id;
    c.send(itemCreate(sid, "Drawing: a red fox in snow"));
    c.send(responseCreate(sid));
    await c.waitType("response.done");
    expect(c.messages.some((m) => m.event.output?.card_attachment)).toBe(true);
    expect(fake.account(acc.sso)!.quota.fast!.remaining).toBe(before - 1);
    c.close();
  });
});
