import { classifyHttp, failure } from "./classify.js";
import { type GrokAccountRef, type GrokContext, send } from "./context.js";
import { restHeaders } from "./identity.js";
import { UpstreamError } from "./upstream-error.js";
import { uploadV2 } from "./upload.js";

/**
 * grok.com video generation (grok-protocol.md §8): request bodies of the two current flows, the
 * media post they may need, and the Imagine input upload (the finished MP4 is downloaded by
 * assets.ts with the generating account's cookies). Pure builders plus thin calls; the
 * flow itself (which body, fallback, progress) is media/video-call.ts.
 */

export type VideoMode = "normal" | "custom" | "extremely-crazy" | "extremely-spicy-or-crazy";
export type VideoResolution = "480p" | "720p";

/** What one generation asks for, already validated and fitted to the account tier. */
export interface VideoSpec {
  /** The prompt without any `--mode=` flag. */
  prompt: string;
  mode: VideoMode;
  aspectRatio: string;
  /** Seconds, 1–15. */
  seconds: number;
  resolution: VideoResolution;
}

/** `message` of a video turn: the references (image-to-video), two spaces, the prompt and its mode flag (§8.1). */
export function videoMessage(spec: VideoSpec, references: string[] = []): string {
  const text = `${spec.prompt} --mode=${spec.mode}`.trim();
  return references.length ? `${references.join(" ")}  ${text}` : text;
}

/** §8.3 [2026-08]: text-to-video without a media post. */
export function textToVideoBody(spec: VideoSpec): Record<string, unknown> {
  return {
    modelName: "imagine-video-gen",
    message: videoMessage(spec),
    enableImageStreaming: true,
    enableSideBySide: true,
    sendFinalMetadata: true,
    responseMetadata: { experiments: [], modelConfigOverride: { modelMap: {} } },
    mediaGenInput: { textToVideo: { prompt: spec.prompt, aspectRatio: spec.aspectRatio, duration: spec.seconds, resolutionName: spec.resolution } },
    kind: "CONVERSATION_KIND_IMAGINE",
  };
}

/**
 * §8.2 [2026-04]: the minimal `imagine-video-gen` body over a media post. Image-to-video adds
 * `imageReferences` (the images' asset URLs) and the post references in the message.
 */
export function mediaPostVideoBody(spec: VideoSpec, parentPostId: string, images: { postIds: string[]; assetUrls: string[] } | null): Record<string, unknown> {
  const config: Record<string, unknown> = {
    parentPostId,
    aspectRatio: spec.aspectRatio,
    videoLength: spec.seconds,
    resolutionName: spec.resolution,
  };
  if (images) Object.assign(config, { isVideoEdit: false, isReferenceToVideo: true, imageReferences: images.assetUrls });
  return {
    temporary: true,
    modelName: "imagine-video-gen",
    message: videoMessage(spec, images ? images.postIds.map((id) => `https://grok.com/imagine/${id}`) : []),
    enableSideBySide: true,
    responseMetadata: { experiments: [], modelConfigOverride: { modelMap: { videoGenModelConfig: config } } },
  };
}

/** `POST /rest/media/post/create` (§8.2): a video post for a prompt, or an image post for an uploaded image; resolves to the post id. */
export async function createMediaPost(ctx: GrokContext, acc: GrokAccountRef, post: { mediaType: "MEDIA_POST_TYPE_VIDEO"; prompt: string } | { mediaType: "MEDIA_POST_TYPE_IMAGE"; mediaUrl: string }, signal?: AbortSignal): Promise<string> {
  const path = "/rest/media/post/create";
  const statsig = await ctx.statsig.get("POST", path, acc.token, signal);
  const res = await send(ctx, path, {
    method: "POST",
    headers: { ...restHeaders(ctx.identity(), acc.token, { statsig, referer: `${ctx.origin}/imagine` }), "accept-encoding": "gzip, deflate" },
    body: JSON.stringify(post),
    ...(signal ? { signal } : {}),
  });
  const text = await res.text();
  if (res.status !== 200) {
    const f = classifyHttp(res.status, text, res.headers);
    if (f.kind === "anti_bot") ctx.statsig.invalidate("POST", path);
    throw new UpstreamError(f);
  }
  let id: unknown;
  try {
    const body = JSON.parse(text) as { post?: { id?: unknown } };
    id = body.post?.id;
  } catch {
    id = null;
  }
  if (typeof id !== "string" || !id) throw new UpstreamError(failure("upstream_error", "the media post answer carried no post id"));
  return id;
}

/**
 * Multipart upload v2 of an image-to-video input (§6.2, Referer /imagine); resolves to the
 * reference and the asset path (`users/<uid>/<id>/content` when the answer has no fileUri).
 */
export async function uploadVideoInput(ctx: GrokContext, acc: GrokAccountRef, file: { name: string; mime: string; data: Uint8Array }, signal?: AbortSignal): Promise<{ id: string; fileUri: string }> {
  const ref = await uploadV2(ctx, acc, file, { referer: `${ctx.origin}/imagine`, ...(signal ? { signal } : {}) });
  const fileUri = ref.fileUri ?? (acc.userId ? `users/${acc.userId}/${ref.id}/content` : null);
  if (!fileUri) throw new UpstreamError(failure("upstream_error", "the upload answer carried no fileUri and the account's user id is unknown"));
  return { id: ref.id, fileUri: fileUri.replace(/^\/+/, "") };
}
