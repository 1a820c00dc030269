import type { GrokSettings } from "../config/settings-schema.js";
import type { GrokEvent } from "../core/events.js";
import { failure } from "../grok/classify.js";
import type { GrokAccountRef, GrokClient } from "../grok/client.js";
import { UpstreamError } from "../grok/upstream-error.js";
import { type VideoSpec, mediaPostVideoBody, textToVideoBody } from "../grok/video.js";
import type { Logger } from "../log.js";
import type { UpstreamJob } from "../runner/pipeline.js";
import type { CachedMedia, MediaCache } from "./cache.js";
import type { UploadFile } from "./fetch-image.js";

/**
 * One video generation as the upstream call of a pipeline job, on the leased account:
 *
 * - image-to-video (input images): each image is uploaded (§6.2) and gets a media post of its
 *   own, as the original did; the media-post body (§8.2) names the first post as parent and every
 *   image as a reference;
 * - text-to-video: the current `mediaGenInput.textToVideo` body (§8.3), or the media-post body
 *   over a prompt post (§8.2) — per `video_flow`; `auto` uses the current form and, when grok.com
 *   refuses that shape (HTTP 400/404 before any frame), the media-post form, remembered for an
 *   hour (FLOW_MEMORY_MS).
 *
 * Progress frames pass through as `video` events (the pipeline commits at the first: a media job
 * is not retried once grok.com accepted it, §11). The finished MP4 (and its thumbnail) are
 * downloaded with the same account while the lease is held and stored in the media cache; the
 * result is left in `holder` before the final event. Moderation ends the call with a request-scoped
 * error naming it; a stream that ends without a video is an upstream failure.
 */

export interface VideoResult {
  video: CachedMedia;
  thumbnail: CachedMedia | null;
  /** grok.com's ids, for the record. */
  videoId: string;
  postId: string | null;
}

export interface VideoCallDeps {
  grok: GrokClient;
  cache: () => MediaCache;
  settings: () => GrokSettings;
  log: Logger;
  /** What `video_flow: auto` learned (per server): when grok.com last refused the text-to-video form. */
  flowMemory?: { textToVideoRefusedAt: number | null };
}

/** A video job's whole deadline: at least 15 minutes (grok.com's own video timeout in [2026-08], §8.4), or stream_total_timeout when longer. */
export function videoDeadlineMs(s: GrokSettings): number {
  return Math.max(15 * 60, s.stream_total_timeout) * 1000;
}

export const VIDEO_MODERATED_MESSAGE = "rejected by content moderation: grok.com's moderation blocked the generated video";

/** How long auto mode keeps using the media-post form after the current form was refused, before trying it again. */
export const FLOW_MEMORY_MS = 60 * 60_000;

/** A refusal of the request's shape (not of its content): the other form may be accepted. */
function shapeRefused(err: unknown): boolean {
  if (!(err instanceof UpstreamError)) return false;
  const f = err.failure;
  return f.kind === "request" && (f.status === 400 || f.status === 404) && !/moderat/i.test(f.message);
}

export function videoCall(deps: VideoCallDeps, spec: VideoSpec, images: UploadFile[], holder: { result: VideoResult | null }): UpstreamJob["call"] {
  return async function* (acc: GrokAccountRef, signal: AbortSignal): AsyncGenerator<GrokEvent> {
    const { grok } = deps;
    const origin = grok.origin;
    if (images.length) {
      const assetUrls: string[] = [];
      const postIds: string[] = [];
      for (const img of images) {
        const up = await grok.uploadVideoInput(acc, img, signal);
        const url = grok.assetUrl(up.fileUri);
        assetUrls.push(url);
        postIds.push(await grok.createMediaPost(acc, { mediaType: "MEDIA_POST_TYPE_IMAGE", mediaUrl: url }, signal));
      }
      const body = mediaPostVideoBody(spec, postIds[0]!, { postIds, assetUrls });
      return yield* generate(deps, grok.postConversation(body, acc, signal, `${origin}/imagine/post/${postIds[0]}`), acc, spec, postIds[0]!, holder, signal);
    }
    const flow = deps.settings().video_flow ?? "auto";
    const memory = deps.flowMemory;
    const refusedAt = memory?.textToVideoRefusedAt ?? null;
    if (flow === "text-to-video" || (flow === "auto" && (refusedAt === null || Date.now() - refusedAt > FLOW_MEMORY_MS))) {
      const stream = grok.postConversation(textToVideoBody(spec), acc, signal, `${origin}/imagine`);
      let first: IteratorResult<GrokEvent> | null = null;
      try {
        first = await stream.next(); // HTTP refusals are thrown here, before any frame
      } catch (err) {
        if (flow !== "auto" || !shapeRefused(err)) throw err;
        if (memory) memory.textToVideoRefusedAt = Date.now();
        deps.log.info("text-to-video form refused; using the media-post form from now on", { reason: (err as Error).message });
      }
      if (first) return yield* generate(deps, prepend(first, stream), acc, spec, null, holder, signal);
    }
    const postId = await grok.createMediaPost(acc, { mediaType: "MEDIA_POST_TYPE_VIDEO", prompt: spec.prompt }, signal);
    yield* generate(deps, grok.postConversation(mediaPostVideoBody(spec, postId, null), acc, signal, `${origin}/imagine`), acc, spec, postId, holder, signal);
  };
}

async function* prepend<T>(first: IteratorResult<T>, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}

async function* generate(deps: VideoCallDeps, events: AsyncIterable<GrokEvent>, acc: GrokAccountRef, spec: VideoSpec, postId: string | null, holder: { result: VideoResult | null }, signal: AbortSignal): AsyncGenerator<GrokEvent> {
  let progress = -1;
  for await (const e of events) {
    if (e.type === "video") {
      if (e.moderated) {
        yield { type: "error", error: failure("request", `${VIDEO_MODERATED_MESSAGE}. Rephrase the prompt.`) };
        return;
      }
      if (e.url && !holder.result) {
        const dl = await deps.grok.downloadAsset(acc, e.url, { kind: "video", signal });
        const video = await deps.cache().put("video", dl.data, { mime: dl.mime || "video/mp4", prompt: spec.prompt || null });
        let thumbnail: CachedMedia | null = null;
        if (e.thumbnailUrl) {
          try {
            const t = await deps.grok.downloadAsset(acc, e.thumbnailUrl, { kind: "image", signal });
            thumbnail = await deps.cache().put("image", t.data, { mime: t.mime || "image/jpeg", prompt: spec.prompt || null });
          } catch (err) {
            if (signal.aborted) throw err;
            deps.log.debug("video thumbnail not cached", { message: (err as Error).message });
          }
        }
        holder.result = { video, thumbnail, videoId: e.id, postId };
        progress = 100;
        yield { ...e, progress: 100 };
        continue;
      }
      if (e.progress > progress && e.progress < 100) {
        progress = e.progress;
        yield e;
      }
      continue;
    }
    if (e.type === "text") continue; // "I generated a video": the caller words the answer
    if (e.type === "done") {
      if (!holder.result) {
        yield { type: "error", error: failure("upstream_error", `grok.com ended the video job without a video${progress >= 0 ? ` (last progress ${progress}%)` : ""}`) };
        return;
      }
      yield e;
      return;
    }
    yield e;
  }
}
