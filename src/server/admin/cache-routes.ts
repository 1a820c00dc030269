import Router from "@koa/router";
import type { Context, Next } from "koa";
import { readJson } from "../api/middleware.js";
import { ProxyError } from "../errors.js";
import { type CachedMedia, MEDIA_KINDS, type MediaCache, type MediaKind } from "../media/cache.js";
import { mediaPath, mediaUrl, publicOrigin } from "../media/urls.js";
import type { AdminAuth } from "./auth.js";
import { sessionToken } from "./session-cookie.js";

/**
 * The media cache in the admin API: the original's `GET /api/cache/size`, `POST /api/cache/clear`,
 * `/api/cache/clear/images`, `/api/cache/clear/videos` (same JSON as the original: formatted and
 * byte sizes, deleted counts), plus `GET /api/cache/list` for the manager's cache browser and
 * `POST /api/cache/delete` for one file. Every route needs an admin session.
 */
export interface CacheRouteDeps {
  auth: Pick<AdminAuth, "verify">;
  media: MediaCache;
  baseUrl: () => string;
}

const MB = 1024 * 1024;

export function formatSize(bytes: number): string {
  return bytes < MB ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / MB).toFixed(1)} MB`;
}

function kindParam(v: unknown, param: string): MediaKind | undefined {
  if (v === undefined || v === null || v === "" || v === "all") return undefined;
  const k = String(v).replace(/s$/, "") as MediaKind;
  if (!MEDIA_KINDS.includes(k)) throw new ProxyError(400, "invalid_value", `${param} must be image, video or all`, { param });
  return k;
}

function intParam(v: unknown, param: string, def: number, max: number): number {
  if (v === undefined || v === "") return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new ProxyError(400, "invalid_value", `${param} must be an integer 0-${max}`, { param });
  return n;
}

function item(origin: string, e: CachedMedia) {
  return {
    name: e.name,
    kind: e.kind,
    mime: e.mime,
    size: e.size,
    size_text: formatSize(e.size),
    created_at: e.createdAt,
    last_access_at: e.lastAccessAt,
    prompt: e.prompt,
    instance: e.instance,
    path: mediaPath(e.kind, e.name),
    url: mediaUrl(origin, e.kind, e.name),
  };
}

export function cacheRouter(deps: CacheRouteDeps): Router {
  const r = new Router({ prefix: "/api/cache" });
  r.use(async (ctx: Context, next: Next) => {
    if (!(await deps.auth.verify(sessionToken(ctx)))) throw new ProxyError(401, "unauthorized", "Admin session missing or expired; POST /api/login first.", { retryable: false });
    await next();
  });

  r.get("/size", async (ctx) => {
    const s = await deps.media.size();
    const total = s.image.bytes + s.video.bytes;
    ctx.body = {
      success: true,
      data: {
        image_size: formatSize(s.image.bytes),
        video_size: formatSize(s.video.bytes),
        total_size: formatSize(total),
        image_size_bytes: s.image.bytes,
        video_size_bytes: s.video.bytes,
        total_size_bytes: total,
        // added fields
        image_count: s.image.count,
        video_count: s.video.count,
        instance: deps.media.instance,
      },
    };
  });

  const clear = (kind?: MediaKind) => async (ctx: Context) => {
    if (!kind) {
      const image = await deps.media.clear("image");
      const video = await deps.media.clear("video");
      ctx.body = { success: true, message: `Cleared the cache: ${image} image(s), ${video} video(s), ${image + video} file(s)`, data: { deleted_count: image + video, image_count: image, video_count: video } };
      return;
    }
    const n = await deps.media.clear(kind);
    ctx.body = { success: true, message: `Cleared the ${kind} cache: ${n} file(s)`, data: { deleted_count: n, type: `${kind}s` } };
  };
  r.post("/clear", clear());
  r.post("/clear/images", clear("image"));
  r.post("/clear/videos", clear("video"));

  r.get("/list", async (ctx) => {
    const kind = kindParam(ctx.query.kind, "kind");
    const limit = intParam(ctx.query.limit, "limit", 100, 1000);
    const offset = intParam(ctx.query.offset, "offset", 0, Number.MAX_SAFE_INTEGER);
    const all = await deps.media.list(kind);
    const origin = publicOrigin(ctx, deps.baseUrl());
    ctx.body = { success: true, data: all.slice(offset, offset + limit).map((e) => item(origin, e)), total: all.length, instance: deps.media.instance };
  });

  r.post("/delete", async (ctx) => {
    const body = (await readJson(ctx)) as Record<string, unknown> | null;
    const name = body && typeof body.name === "string" ? body.name : "";
    if (!name) throw new ProxyError(400, "missing_field", "name is required", { param: "name" });
    const kinds = body?.kind !== undefined ? [kindParam(body.kind, "kind")!] : [...MEDIA_KINDS];
    let deleted = false;
    for (const k of kinds) if (k && (await deps.media.remove(k, name))) deleted = true;
    if (!deleted) throw new ProxyError(404, "not_found", "No such file in the media cache", { param: "name" });
    ctx.body = { success: true, message: `Deleted ${name}`, data: { deleted_count: 1 } };
  });

  return r;
}
