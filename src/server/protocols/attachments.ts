import type { Attachment } from "../core/turn.js";
import { ProxyError } from "../errors.js";

export type { Attachment };

const IMAGE_MIME = /^image\/(png|jpeg|jpg|webp|gif)$/i;

/** Parses a `data:image/…;base64,…` URL or accepts an https URL; anything else is a 400 naming `param`. */
export function parseImageUrl(url: unknown, param: string, index: number): Attachment {
  if (typeof url !== "string" || !url) throw new ProxyError(400, "invalid_value", `${param} must be a non-empty string`, { param });
  if (url.startsWith("data:")) {
    const m = /^data:([^;,]+)(;base64)?,(.*)$/s.exec(url);
    if (!m || !m[2]) throw new ProxyError(400, "invalid_value", `${param} is not a base64 data URL`, { param });
    const mime = m[1]!.toLowerCase();
    if (!IMAGE_MIME.test(mime)) throw new ProxyError(400, "invalid_value", `${param}: unsupported image type ${mime} (png, jpeg, webp, gif)`, { param });
    const b64 = m[3]!.replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b64) || b64.length === 0) throw new ProxyError(400, "invalid_value", `${param}: invalid base64 image data`, { param });
    const data = Buffer.from(b64, "base64");
    if (data.length === 0) throw new ProxyError(400, "invalid_value", `${param}: empty image`, { param });
    const ext = mime.split("/")[1] === "jpeg" ? "jpg" : mime.split("/")[1];
    return { kind: "data", mime: mime === "image/jpg" ? "image/jpeg" : mime, data, name: `image-${index}.${ext}`, param };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ProxyError(400, "invalid_value", `${param} must be an https URL or a data URL`, { param });
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new ProxyError(400, "invalid_value", `${param} must be an https URL or a data URL`, { param });
  return { kind: "url", url, name: `image-${index}`, param };
}
