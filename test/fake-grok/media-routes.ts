/** Media posts, upscale, share links (§7.4, §8), TTS audio (§9), account setup and the mode catalogue. */
import type { HttpCtx } from "./core.js";
import { rejectHttp, sendBytes, sendJson } from "./core.js";
import { failures } from "./errors.js";
import { fixtureBytes } from "./fixtures.js";
import { generatedMedia } from "./media-bytes.js";
import { grpcWebOkTrailer } from "./quota.js";
import { isPlainObject, uuid } from "./util.js";

const POST_TYPES = ["MEDIA_POST_TYPE_IMAGE", "MEDIA_POST_TYPE_VIDEO"];

/** POST /rest/media/post/create — camelCase ([2026]) and snake_case ([2025]) bodies. */
export function handlePostCreate(ctx: HttpCtx): void {
  const b = ctx.body;
  if (!isPlainObject(b)) return rejectHttp(ctx, failures.invalid("body must be a JSON object"), "post body not an object");
  const mediaType = b.mediaType ?? b.media_type;
  const mediaUrl = b.mediaUrl ?? b.media_url;
  if (typeof mediaType !== "string" || !POST_TYPES.includes(mediaType)) return rejectHttp(ctx, failures.invalid("invalid mediaType"), `mediaType ${String(mediaType)}`);
  if (mediaUrl !== undefined && (typeof mediaUrl !== "string" || !/^https?:\/\//.test(mediaUrl))) return rejectHttp(ctx, failures.invalid("invalid mediaUrl"), `mediaUrl ${String(mediaUrl)}`);
  if (mediaType === "MEDIA_POST_TYPE_IMAGE" && !mediaUrl) return rejectHttp(ctx, failures.invalid("mediaUrl is required for image posts"), "image post without mediaUrl");
  if (mediaType === "MEDIA_POST_TYPE_VIDEO" && !mediaUrl && typeof b.prompt !== "string") return rejectHttp(ctx, failures.invalid("prompt is required"), "video post without prompt");
  const acc = ctx.account!;
  if (typeof mediaUrl === "string") {
    const owner = /\/users\/([0-9a-f-]{36})\//.exec(mediaUrl)?.[1];
    if (owner && owner !== acc.userId) return rejectHttp(ctx, failures.invalid("media not found"), "mediaUrl belongs to another account");
  }
  const id = uuid();
  const prompt = typeof b.prompt === "string" ? b.prompt : "";
  ctx.core.state.posts.set(id, { id, owner: acc.sso, mediaType, mediaUrl: mediaUrl as string | undefined, prompt });
  sendJson(ctx, 200, {
    post: { id, userId: acc.userId, createTime: new Date().toISOString(), prompt, mediaType, mediaUrl: mediaUrl ?? "", mimeType: mediaType === "MEDIA_POST_TYPE_IMAGE" ? "image/jpeg" : "video/mp4", originalPostId: "", childPosts: [] },
  });
}

/** POST /rest/media/post/create-link {"postId","source","platform"}. */
export function handleCreateLink(ctx: HttpCtx): void {
  const b = ctx.body;
  if (!isPlainObject(b) || typeof b.postId !== "string") return rejectHttp(ctx, failures.invalid("postId is required"), "create-link without postId");
  const post = ctx.core.state.posts.get(b.postId);
  if (!post || post.owner !== ctx.account!.sso) return rejectHttp(ctx, failures.notFound("Post not found"), `unknown post ${b.postId}`);
  sendJson(ctx, 200, { shareLink: `${ctx.core.url}/imagine/post/${post.id}?source=${encodeURIComponent(String(b.source ?? "post-page"))}`, postId: post.id });
}

/** POST /rest/media/video/upscale {"videoId"} → {"hdMediaUrl"}. */
export function handleUpscale(ctx: HttpCtx): void {
  const b = ctx.body;
  if (!isPlainObject(b) || typeof b.videoId !== "string") return rejectHttp(ctx, failures.invalid("videoId is required"), "upscale without videoId");
  const video = ctx.core.state.videos.get(b.videoId);
  if (!video || video.owner !== ctx.account!.sso) return rejectHttp(ctx, failures.notFound("Video not found"), `unknown video ${b.videoId}`);
  const path = `users/${video.userId}/generated/${b.videoId}/generated_video_hd.mp4`;
  ctx.core.state.putAsset({ path, ownerUserId: video.userId, ...generatedMedia(path) });
  sendJson(ctx, 200, { hdMediaUrl: `${ctx.core.assetsUrl}/${path}` });
}

/** Serves bytes honouring a single `Range: bytes=a-b` (206) header. */
export function sendRanged(ctx: HttpCtx, bytes: Buffer, contentType: string): void {
  const range = ctx.headers["range"];
  const m = range ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null;
  if (!m || (m[1] === "" && m[2] === "")) return sendBytes(ctx, 200, bytes, { "content-type": contentType, "accept-ranges": "bytes" });
  let start = m[1] === "" ? bytes.length - Number(m[2]) : Number(m[1]);
  let end = m[1] === "" || m[2] === "" ? bytes.length - 1 : Math.min(Number(m[2]), bytes.length - 1);
  start = Math.max(0, start);
  if (start > end || start >= bytes.length) {
    ctx.res.writeHead(416, { "content-range": `bytes */${bytes.length}` });
    return void ctx.res.end();
  }
  end = Math.max(start, end);
  sendBytes(ctx, 206, bytes.subarray(start, end + 1), {
    "content-type": contentType,
    "accept-ranges": "bytes",
    "content-range": `bytes ${start}-${end}/${bytes.length}`,
  });
}

/** GET /http/app-chat/read-response-audio-file/{responseId}[?voiceId=…] → WAV; 404 for unknown ids. */
export function handleTts(ctx: HttpCtx): void {
  const id = ctx.params[0]!;
  const r = ctx.core.state.responses.get(id);
  if (!r || r.role !== "assistant" || r.owner !== ctx.account!.sso) return rejectHttp(ctx, failures.notFound("Response not found"), `no assistant response ${id} for this account`);
  sendRanged(ctx, fixtureBytes("audio.wav"), "audio/wav");
}

export function handleTos(ctx: HttpCtx): void {
  ctx.account!.tosAccepted = true;
  sendJson(ctx, 200, {});
}

export function handleBirthDate(ctx: HttpCtx): void {
  const b = ctx.body;
  if (!isPlainObject(b) || typeof b.birthDate !== "string" || Number.isNaN(Date.parse(b.birthDate))) {
    return rejectHttp(ctx, failures.invalid("birthDate is required"), "set-birth-date without a valid birthDate");
  }
  const acc = ctx.account!;
  if (acc.birthDateSet) return sendJson(ctx, 429, { error: { code: 8, message: "Birth date cannot be changed again [WKE=account:birth-date-change-limit-reached]", details: [] } });
  acc.birthDateSet = true;
  sendJson(ctx, 200, {});
}

/** gRPC-web UpdateUserFeatureControls: answers the OK trailer. */
export function handleFeatureControls(ctx: HttpCtx): void {
  const ct = (ctx.headers["content-type"] ?? "").split(";")[0]!.trim();
  if (ct !== "application/grpc-web+proto") return rejectHttp(ctx, failures.invalid("content-type must be application/grpc-web+proto"), `feature controls content-type ${ct}`);
  if (ctx.raw.length < 5 || ctx.raw[0] !== 0 || ctx.raw.readUInt32BE(1) !== ctx.raw.length - 5) {
    return rejectHttp(ctx, failures.invalid("malformed gRPC-web frame"), "feature controls body is not one gRPC-web frame");
  }
  ctx.account!.nsfwEnabled = true;
  const body = grpcWebOkTrailer();
  ctx.res.writeHead(200, { "content-type": "application/grpc-web+proto", "content-length": String(body.length) });
  ctx.res.end(body);
}

/** POST /rest/modes {"locale":"en"} — shape unconfirmed upstream (§13.7). */
export function handleModes(ctx: HttpCtx): void {
  const tier = ctx.account!.tier;
  const modes = [
    { modeId: "auto", title: "Auto", description: "Chooses Fast or Expert", available: tier !== "basic" },
    { modeId: "fast", title: "Fast", description: "Quick responses", available: true },
    { modeId: "expert", title: "Expert", description: "Thinks hard", available: tier !== "basic" },
    { modeId: "heavy", title: "Heavy", description: "Team of experts", available: tier === "heavy" },
  ];
  sendJson(ctx, 200, { modes });
}
