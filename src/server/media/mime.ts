import type { MediaKind } from "./cache.js";

/**
 * Media types the cache stores and serves. Only these are ever sent as a Content-Type by the
 * media routes; anything else is served as application/octet-stream (never text/html or SVG,
 * which would run script on the proxy's origin).
 */
const EXT: Record<string, string> = {
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/webp": "webp",
  "image/gif": "gif",
  "video/mp4": "mp4",
  "video/webm": "webm",
  "video/quicktime": "mov",
  "application/octet-stream": "bin",
};

const BY_EXT: Record<string, string> = Object.fromEntries(Object.entries(EXT).map(([m, e]) => [e, m]));
BY_EXT.jpeg = "image/jpeg";

export function extensionFor(mime: string): string {
  return EXT[mime.split(";")[0]!.trim().toLowerCase()] ?? "bin";
}

export function mimeForExtension(ext: string, _kind?: MediaKind): string {
  return BY_EXT[ext.toLowerCase()] ?? "application/octet-stream";
}

/** The type of media bytes from their first bytes (at least 12 needed), or null. */
export function sniffMediaType(b: Uint8Array, kind?: MediaKind): string | null {
  const image = sniffImage(b);
  const video = sniffVideo(b);
  if (kind === "image") return image;
  if (kind === "video") return video;
  return image ?? video;
}

function sniffImage(b: Uint8Array): string | null {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "image/png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return "image/gif";
  if (b.length >= 12 && ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WEBP") return "image/webp";
  return null;
}

function sniffVideo(b: Uint8Array): string | null {
  if (b.length >= 12 && ascii(b, 4, 8) === "ftyp") return ascii(b, 8, 12) === "qt  " ? "video/quicktime" : "video/mp4";
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return "video/webm";
  return null;
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}
