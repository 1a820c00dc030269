/** Real media bytes behind generated asset paths, and content sniffing for uploads. */
import type { FakeState } from "./state.js";
import { assetPathsIn, fixtureBytes } from "./fixtures.js";

export interface ImageInfo {
  mime: string;
  width: number;
  height: number;
}

function jpegSize(b: Buffer): { width: number; height: number } | undefined {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1]!;
    const size = b.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    }
    i += 2 + size;
  }
  return undefined;
}

/** Detects JPEG, PNG, GIF and WebP from content. */
export function sniffImage(b: Buffer): ImageInfo | undefined {
  if (b.length > 24 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    return { mime: "image/png", width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length > 4 && b[0] === 0xff && b[1] === 0xd8) {
    const s = jpegSize(b);
    return s ? { mime: "image/jpeg", ...s } : undefined;
  }
  if (b.length > 10 && b.subarray(0, 3).toString("latin1") === "GIF") return { mime: "image/gif", width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  if (b.length > 30 && b.subarray(0, 4).toString("latin1") === "RIFF" && b.subarray(8, 12).toString("latin1") === "WEBP") {
    const kind = b.subarray(12, 16).toString("latin1");
    if (kind === "VP8X") return { mime: "image/webp", width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3) };
    if (kind === "VP8 ") return { mime: "image/webp", width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
    if (kind === "VP8L") {
      const bits = b.readUInt32LE(21);
      return { mime: "image/webp", width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
    }
    return { mime: "image/webp", width: 0, height: 0 };
  }
  return undefined;
}

/** Bytes and content type for a generated path (…/image.jpg, …-part-0/image.jpg, …/generated_video.mp4, …). */
export function generatedMedia(path: string): { bytes: Buffer; contentType: string } {
  const file = path.slice(path.lastIndexOf("/") + 1);
  if (file.endsWith(".mp4")) return { bytes: fixtureBytes("video.mp4"), contentType: "video/mp4" };
  if (file.endsWith(".flac")) return { bytes: fixtureBytes("audio.flac"), contentType: "audio/flac" };
  if (file.endsWith(".png")) return { bytes: fixtureBytes("image.png"), contentType: "image/png" };
  if (/-part-\d+\//.test(path)) return { bytes: fixtureBytes("preview.jpg"), contentType: "image/jpeg" };
  return { bytes: fixtureBytes(file === "preview_image.jpg" ? "image-wide.jpg" : "image.jpg"), contentType: "image/jpeg" };
}

/** Registers every users/<uid>/generated/… path found in the frames as a private asset of uid. */
export function registerGeneratedAssets(state: FakeState, userId: string, frames: unknown): string[] {
  const paths = assetPathsIn(frames);
  for (const p of paths) {
    const owner = p.split("/")[1]!;
    if (owner !== userId) continue;
    if (!state.assets.has(p)) state.putAsset({ path: p, ownerUserId: owner, ...generatedMedia(p) });
  }
  return paths;
}

export function previewDataUri(): string {
  return `data:image/jpeg;base64,${fixtureBytes("preview.jpg").toString("base64")}`;
}
