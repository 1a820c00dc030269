import type { MediaKind } from "./cache.js";

/**
 * Absolute media URLs. `global.base_url` when set (a reverse proxy, a LAN name); otherwise the
 * origin the client itself used for this request (scheme + Host header), so links work without
 * configuration from wherever the client reached the server.
 */
export function publicOrigin(req: { protocol: string; host: string }, baseUrl: string): string {
  const base = baseUrl.trim().replace(/\/+$/, "");
  if (base) return base;
  return `${req.protocol}://${req.host || "127.0.0.1"}`;
}

export function mediaPath(kind: MediaKind, name: string): string {
  return `/${kind === "image" ? "images" : "videos"}/${name}`;
}

export function mediaUrl(origin: string, kind: MediaKind, name: string): string {
  return `${origin}${mediaPath(kind, name)}`;
}
