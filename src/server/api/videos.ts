import Router from "@koa/router";
import type { Context } from "koa";
import type { Tier } from "../core/account.js";
import { ProxyError, badRequest } from "../errors.js";
import type { ModelCatalog } from "../grok/models.js";
import { sniffImageType } from "../grok/upload.js";
import type { MediaCache } from "../media/cache.js";
import { MAX_IMAGE_BYTES, type UploadFile, fetchImage } from "../media/fetch-image.js";
import { serveFile } from "../media/serve.js";
import type { SettingsService } from "../config/settings.js";
import type { GrokClient } from "../grok/client.js";
import type { Logger } from "../log.js";
import { publicOrigin } from "../media/urls.js";
import type { VideoCallDeps } from "../media/video-call.js";
import type { VideoServing } from "../media/video-chat.js";
import { VIDEO_ID_RE, VideoJobs, videoResource } from "../media/video-jobs.js";
import type { AccountPool } from "../pool/index.js";
import type { Pipeline } from "../runner/pipeline.js";
import type { Store } from "../store/types.js";
import { DEFAULT_SECONDS, checkPrompt, fitToTiers, parseAspectRatio, parseModeFlag, parseResolution, parseSeconds, parseSize } from "../media/video-spec.js";
import { mediaType, readJson } from "./middleware.js";
import { readMultipart } from "./multipart.js";

/**
 * The Videos API (api-conformance.md §3.4, the Sora 2 shape) over grok.com video jobs:
 * `POST /v1/videos` (multipart as the SDK sends it, or JSON), `GET /v1/videos/{id}`,
 * `GET /v1/videos/{id}/content` (MP4 with Range; `variant=thumbnail` the preview image),
 * `GET /v1/videos` and `DELETE /v1/videos/{id}`; every route also without /v1.
 * Models: a video model of the catalogue, or any other name (sora-2, …) served by the default
 * video model. Durations 1–15 s and sizes are accepted as the doc lets grok.com make them; the
 * job reports what was made (`seconds`, `size`, and `x_grok`).
 */

export const DEFAULT_VIDEO_MODEL = "grok-imagine-video";

export interface VideosRouterDeps {
  jobs: () => VideoJobs;
  cache: () => MediaCache;
  catalog: () => ModelCatalog;
  tiers: () => Record<Tier, number>;
  allowPrivateImages: () => boolean;
}

type Fields = Record<string, unknown>;

/** The create body as plain fields plus the input_reference image (file part or {image_url}). */
async function readCreate(ctx: Context, allowPrivate: boolean): Promise<{ fields: Fields; image: UploadFile | null }> {
  if (mediaType(ctx) === "multipart/form-data") {
    const mp = await readMultipart(ctx, { maxBytes: 40 * 1024 * 1024, maxFileBytes: MAX_IMAGE_BYTES, maxFiles: 1, maxFieldBytes: 64 * 1024, maxParts: 16 });
    const fields: Fields = {};
    for (const [k, v] of mp.fields) fields[k] = v[v.length - 1];
    const f = mp.files.find((x) => x.field === "input_reference");
    if (mp.files.some((x) => x.field !== "input_reference")) throw badRequest(`unexpected file part '${mp.files.find((x) => x.field !== "input_reference")!.field}'; only input_reference takes a file`, "input_reference");
    if (f) return { fields, image: imageFile(f.data, f.filename || "input.png", f.type) };
    if (typeof fields.input_reference === "string" && fields.input_reference.trim().startsWith("{")) {
      try {
        fields.input_reference = JSON.parse(fields.input_reference);
      } catch {
        throw badRequest("input_reference must be a file or {image_url}", "input_reference");
      }
    }
    return { fields, image: await referenceImage(fields.input_reference, allowPrivate, ctx) };
  }
  const body = await readJson(ctx);
  if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("The request body must be a JSON object", null, "invalid_request");
  const fields = body as Fields;
  return { fields, image: await referenceImage(fields.input_reference, allowPrivate, ctx) };
}

function imageFile(data: Buffer, name: string, declared: string): UploadFile {
  const mime = sniffImageType(data);
  if (!mime) throw badRequest("input_reference is not a JPEG, PNG, WebP or GIF image", "input_reference");
  if (declared && declared !== "application/octet-stream" && declared.startsWith("image/") && declared !== mime && !(declared === "image/jpg" && mime === "image/jpeg")) {
    throw badRequest(`input_reference is declared ${declared} but is ${mime}`, "input_reference");
  }
  return { name, mime, data };
}

async function referenceImage(ref: unknown, allowPrivate: boolean, ctx: Context): Promise<UploadFile | null> {
  if (ref === undefined || ref === null || ref === "") return null;
  if (typeof ref !== "object" || Array.isArray(ref)) throw badRequest("input_reference must be a file part or an object {image_url}", "input_reference");
  const r = ref as Fields;
  if (r.file_id !== undefined) throw badRequest("input_reference.file_id is not supported here (there is no Files API); send the image as a file part or an image_url", "input_reference.file_id");
  if (typeof r.image_url !== "string" || !r.image_url) throw badRequest("input_reference needs image_url", "input_reference.image_url");
  const abort = new AbortController();
  ctx.req.once("close", () => abort.abort());
  return fetchImage(r.image_url, "input_reference.image_url", { allowPrivate, signal: abort.signal });
}

function modelFor(deps: VideosRouterDeps, v: unknown): string {
  if (v === undefined || v === null || v === "") return DEFAULT_VIDEO_MODEL;
  if (typeof v !== "string") throw badRequest("model must be a string", "model");
  const m = deps.catalog().get(v);
  if (!m) return DEFAULT_VIDEO_MODEL; // sora-2 and friends: the default video model
  if (m.kind !== "video") throw badRequest(`model '${v}' does not make videos; use ${DEFAULT_VIDEO_MODEL}`, "model");
  return m.id;
}

const notFound = (id: string) => new ProxyError(404, "not_found", `No video job '${id.slice(0, 80)}'`, { param: "video_id" });

export function videosRouter(deps: VideosRouterDeps): Router {
  const router = new Router();

  const create = async (ctx: Context) => {
    const { fields, image } = await readCreate(ctx, deps.allowPrivateImages());
    const model = modelFor(deps, fields.model);
    if (fields.prompt !== undefined && typeof fields.prompt !== "string") throw badRequest("prompt must be a string", "prompt");
    const { prompt, mode } = parseModeFlag(typeof fields.prompt === "string" ? fields.prompt : "", "prompt");
    const modeField = fields.mode ?? fields.preset;
    const finalMode = modeField !== undefined ? parseModeFlag(`--mode=${String(modeField)}`, fields.mode !== undefined ? "mode" : "preset").mode : mode;
    checkPrompt(prompt, "prompt", !!image);
    const size = parseSize(fields.size, "size");
    const aspectRatio = parseAspectRatio(fields.aspect_ratio, "aspect_ratio") ?? size?.aspectRatio ?? "9:16"; // the API's default size is 720x1280
    const resolution = parseResolution(fields.resolution, "resolution") ?? size?.resolution ?? "720p";
    const seconds = parseSeconds(fields.seconds, "seconds") ?? DEFAULT_SECONDS;
    const fitted = fitToTiers({ prompt, mode: finalMode, aspectRatio, seconds, resolution }, deps.tiers());
    const rec = await deps.jobs().create({ model, fitted, requestedSize: typeof fields.size === "string" ? fields.size.trim() : null, images: image ? [image] : [] });
    ctx.body = videoResource(rec);
  };

  const retrieve = async (ctx: Context) => {
    const id = ctx.params.id!;
    const rec = await deps.jobs().get(id);
    if (!rec) throw notFound(id);
    ctx.body = videoResource(rec);
  };

  const content = async (ctx: Context) => {
    const id = ctx.params.id!;
    const rec = await deps.jobs().get(id);
    if (!rec) throw notFound(id);
    const variant = ctx.query.variant === undefined ? "video" : String(ctx.query.variant);
    if (!["video", "thumbnail", "spritesheet"].includes(variant)) throw badRequest("variant must be video, thumbnail or spritesheet", "variant");
    if (rec.status !== "completed") throw new ProxyError(404, "not_found", rec.status === "failed" ? `Video ${id} failed: ${rec.error?.message ?? "no video"}` : `Video ${id} is ${rec.status} (${rec.progress}%); its content is not ready yet`, { param: "video_id" });
    if (variant === "spritesheet") throw new ProxyError(404, "not_found", "grok.com makes no spritesheet; variant=video and variant=thumbnail are served", { param: "variant" });
    const kind = variant === "video" ? "video" : "image";
    const name = variant === "video" ? rec.video : rec.thumbnail;
    const hit = name ? await deps.cache().get(kind, name) : null;
    if (!hit) {
      const where = rec.instance !== deps.jobs().instance ? ` It was made by instance ${rec.instance}, whose media cache holds it.` : " It was removed from the media cache (video_cache_max_size_mb or a cache clear).";
      throw new ProxyError(404, "not_found", `The ${variant} of ${id} is not in this instance's media cache.${where}`, { param: "video_id" });
    }
    await serveFile(ctx, hit.path, hit.meta);
  };

  const list = async (ctx: Context) => {
    const q = ctx.query;
    const limit = q.limit === undefined ? 20 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw badRequest("limit must be an integer from 1 to 100", "limit");
    const order = q.order === undefined ? "desc" : String(q.order);
    if (order !== "asc" && order !== "desc") throw badRequest("order must be asc or desc", "order");
    const after = q.after === undefined ? null : String(q.after);
    if (after !== null && !VIDEO_ID_RE.test(after)) throw badRequest("after must be a video id", "after");
    const { data, has_more } = await deps.jobs().list({ limit, order, after });
    const items = data.map(videoResource);
    ctx.body = { object: "list", data: items, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null, has_more };
  };

  const remove = async (ctx: Context) => {
    const id = ctx.params.id!;
    if (!(await deps.jobs().delete(id))) throw notFound(id);
    ctx.body = { id, object: "video.deleted", deleted: true };
  };

  for (const prefix of ["/v1", ""]) {
    router.post(`${prefix}/videos`, create);
    router.get(`${prefix}/videos`, list);
    router.get(`${prefix}/videos/:id`, retrieve);
    router.get(`${prefix}/videos/:id/content`, content);
    router.delete(`${prefix}/videos/:id`, remove);
  }
  return router;
}

/** What the app wires for video: the Videos API router and the chat runner's video serving. */
export function videoWiring(d: {
  grok: GrokClient;
  media: MediaCache;
  settings: SettingsService;
  pool: AccountPool;
  pipeline: Pipeline;
  store: Store;
  catalog: () => ModelCatalog;
  log: Logger;
  /** Built and started by server.ts (restart sweep, heartbeat, stop); made here when absent. */
  videos?: VideoJobs;
}): { serving: VideoServing; router: Router; jobs: VideoJobs } {
  const log = d.log.child("video");
  const call: VideoCallDeps = d.videos?.callDeps ?? { grok: d.grok, cache: () => d.media, settings: () => d.settings.value.grok, log, flowMemory: { textToVideoRefusedAt: null } };
  const jobs = d.videos ?? new VideoJobs({ store: d.store, pipeline: d.pipeline, call, instance: d.media.instance, log });
  // Accounts that can still serve (cooling ones come back; dead or disabled ones do not), per tier.
  const tiers = () => {
    const out: Record<Tier, number> = { basic: 0, super: 0, heavy: 0 };
    for (const a of d.pool.list()) if (a.effectiveStatus !== "dead" && a.effectiveStatus !== "disabled") out[a.tier]++;
    return out;
  };
  const serving: VideoServing = { call, origin: (ctx) => publicOrigin(ctx, d.settings.value.global.base_url), tiers };
  const router = videosRouter({ jobs: () => jobs, cache: () => d.media, catalog: d.catalog, tiers, allowPrivateImages: () => d.settings.value.grok.image_url_allow_private });
  return { serving, router, jobs };
}
