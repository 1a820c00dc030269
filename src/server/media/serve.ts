import { createReadStream } from "node:fs";
import { open, realpath } from "node:fs/promises";
import { sep } from "node:path";
import type { Context, Next } from "koa";
import { ProxyError } from "../errors.js";
import { type CachedMedia, isCacheName, type MediaCache, type MediaKind } from "./cache.js";
import { extensionFor } from "./mime.js";

/**
 * `GET|HEAD /images/{name}` and `/videos/{name}` (the original's paths): files of the media
 * cache, no auth (names are 132-bit random). The name is matched on the raw request path, so
 * nothing percent-encoded, no dot segment, slash, backslash or NUL can ever name a file; the
 * cache only knows names it made; the file must be a regular file whose real path is inside
 * the cache folder (no symlink out). Immutable caching, a strong ETag, 304s and single byte
 * ranges (206/416).
 */

const ROUTE = /^\/(images|videos)\/([^?#]*)$/;
const KIND: Record<string, MediaKind> = { images: "image", videos: "video" };
const YEAR = 31_536_000;

export function mediaRoutes(cache: () => MediaCache) {
  return async (ctx: Context, next: Next) => {
    const rawPath = ctx.url.split("?")[0]!;
    const m = ROUTE.exec(rawPath);
    if (!m || (ctx.method !== "GET" && ctx.method !== "HEAD")) return next();
    const kind = KIND[m[1]!]!;
    const name = m[2]!;
    if (!isCacheName(name)) {
      // /videos/video_<id>[/content] and /videos are the Videos API without /v1 (api/videos.ts): not files.
      if (kind === "video" && /^video_[0-9a-f]{32}(\/content)?$/.test(name)) return next();
      throw notFound();
    }
    const hit = await cache().get(kind, name);
    if (!hit) throw notFound();
    const folder = await realpath(cache().folder(kind)).catch(() => null);
    const real = await realpath(hit.path).catch(() => null);
    if (!folder || !real || real !== `${folder}${sep}${name}`) throw notFound();
    await serveFile(ctx, real, hit.meta);
  };
}

function notFound(): ProxyError {
  return new ProxyError(404, "not_found", "No such media file (it may have been evicted from the cache).");
}

export function etagOf(meta: CachedMedia): string {
  return `"${meta.name.replace(/\.[^.]+$/, "")}-${meta.size.toString(16)}"`;
}

/** Content-Type for a stored type: only the media types the cache knows, else octet-stream. */
function servedType(mime: string): string {
  return extensionFor(mime) === "bin" ? "application/octet-stream" : mime;
}

function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === "*") return true;
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

/** A single `bytes=` range within `size`, "unsatisfiable", or null (absent, malformed or multiple: whole file). */
export function parseRange(header: string, size: number): { start: number; end: number } | "unsatisfiable" | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return null; // invalid syntax: ignored (RFC 9110 §14.1.1)
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

/** Serves one cached file with the headers above (ETag, 304, single ranges); also the Videos API's content route. */
export async function serveFile(ctx: Context, path: string, meta: CachedMedia): Promise<void> {
  const fh = await open(path, "r");
  let handed = false;
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notFound();
    const size = st.size;
    const etag = etagOf({ ...meta, size });
    ctx.set("ETag", etag);
    ctx.set("Last-Modified", new Date(meta.createdAt).toUTCString());
    ctx.set("Cache-Control", `public, max-age=${YEAR}, immutable`);
    ctx.set("Accept-Ranges", "bytes");
    ctx.set("X-Content-Type-Options", "nosniff");
    ctx.set("Content-Security-Policy", "default-src 'none'; sandbox");
    ctx.set("Cross-Origin-Resource-Policy", "cross-origin");
    ctx.set("Content-Disposition", `inline; filename="${meta.name}"`);
    const inm = ctx.get("if-none-match");
    const ims = Date.parse(ctx.get("if-modified-since"));
    if (inm ? etagMatches(inm, etag) : Number.isFinite(ims) && Math.floor(meta.createdAt / 1000) <= Math.floor(ims / 1000)) {
      ctx.status = 304;
      return;
    }
    let range: ReturnType<typeof parseRange> = null;
    const rh = ctx.get("range");
    const ifRange = ctx.get("if-range");
    if (rh && (!ifRange || ifRange.trim() === etag)) range = parseRange(rh, size);
    ctx.type = servedType(meta.mime);
    if (range === "unsatisfiable") {
      ctx.status = 416;
      ctx.set("Content-Range", `bytes */${size}`);
      ctx.body = "";
      return;
    }
    const start = range ? range.start : 0;
    const end = range ? range.end : size - 1;
    ctx.status = range ? 206 : 200;
    if (range) ctx.set("Content-Range", `bytes ${start}-${end}/${size}`);
    const length = Math.max(0, end - start + 1);
    if (ctx.method === "HEAD" || size === 0) {
      ctx.body = Buffer.alloc(0); // Koa sends no body on HEAD; the length stays the file's
      ctx.length = ctx.method === "HEAD" ? length : 0;
      return;
    }
    ctx.length = length;
    ctx.body = createReadStream("", { fd: fh, start, end, autoClose: true });
    handed = true;
  } finally {
    if (!handed) await fh.close();
  }
}
