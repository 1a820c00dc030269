import { classifyHttp, classifyTransportError, failure } from "./classify.js";
import type { GrokAccountRef, GrokContext } from "./context.js";
import { ACCEPT_LANGUAGE, clientHints, cookieHeader } from "./identity.js";
import { UpstreamError } from "./upstream-error.js";

/**
 * Downloads of generated assets (grok-protocol.md §7.5). Assets are private: they are fetched
 * with the owning account's cookies, user agent and egress, while its lease is held, and only
 * from the asset hosts grok.com uses (plus the configured assets origin, e.g. a test double).
 * `data:` URLs (Imagine WebSocket blobs, previews) are decoded instead of fetched.
 */

export type AssetKind = "image" | "video";

export interface AssetDownload {
  data: Uint8Array;
  /** Content-Type as served (or of the data URL), without parameters; "" when absent. */
  mime: string;
}

export interface AssetOptions {
  kind: AssetKind;
  /** The configured assets origin (GROK2API_ASSETS_URL). */
  assetsOrigin: string;
  signal?: AbortSignal | undefined;
  /** Per-asset limit; default 32 MiB for images, 512 MiB for videos. */
  maxBytes?: number;
  /** Deadline per attempt (default 60 s for images, 300 s for videos). */
  timeoutMs?: number;
  /** Waits between attempts (default 200 ms then 750 ms: three attempts). */
  retryDelaysMs?: number[];
}

export const MAX_IMAGE_ASSET_BYTES = 32 * 1024 * 1024;
export const MAX_VIDEO_ASSET_BYTES = 512 * 1024 * 1024;
const PUBLIC_ASSET_HOSTS = ["assets.grok.com", "imagine-public.x.ai", "imgen.x.ai"];
const RETRY_STATUS = new Set([403, 408, 425, 429]);

/** The absolute URL of an asset reference: relative paths hang off the assets origin; only allowed hosts pass. */
export function assetUrl(ref: string, assetsOrigin: string): URL {
  const origin = assetsOrigin.replace(/\/+$/, "");
  let url: URL;
  try {
    url = /^[a-z][a-z0-9+.-]*:/i.test(ref) ? new URL(ref) : new URL(`${origin}/${ref.replace(/^\/+/, "")}`);
  } catch {
    throw new UpstreamError(failure("upstream_error", "grok.com sent an asset reference that is not a URL"));
  }
  const configured = new URL(origin);
  const ok = url.origin === configured.origin || (url.protocol === "https:" && PUBLIC_ASSET_HOSTS.includes(url.hostname));
  if (!ok) throw new UpstreamError(failure("upstream_error", `grok.com sent an asset on an unexpected host (${url.hostname})`));
  return url;
}

/** Decodes a `data:<mime>;base64,…` URL, or null when it is not one. */
export function decodeDataUrl(ref: string): AssetDownload | null {
  const m = /^data:([^;,]*)(;base64)?,/i.exec(ref);
  if (!m) return null;
  const payload = ref.slice(m[0].length);
  const data = m[2] ? Buffer.from(payload, "base64") : Buffer.from(decodeURIComponent(payload), "utf8");
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), mime: (m[1] || "").toLowerCase() };
}

function typeAllowed(kind: AssetKind, mime: string): boolean {
  if (!mime) return true;
  if (kind === "image") return mime.startsWith("image/");
  return mime.startsWith("video/") || mime === "application/octet-stream";
}

function headersFor(ctx: GrokContext, acc: GrokAccountRef, kind: AssetKind): Record<string, string> {
  const id = ctx.identity();
  return {
    accept: kind === "image" ? "image/avif,image/webp,image/apng,image/*,*/*;q=0.8" : "video/*,*/*;q=0.8",
    // Media answers came back br/zstd-encoded when offered (§14.9): offer only what every transport decodes.
    "accept-encoding": "gzip, deflate",
    "accept-language": ACCEPT_LANGUAGE,
    cookie: cookieHeader(acc.token, { cfClearance: id.cfClearance }),
    referer: `${id.origin}/`,
    "sec-fetch-dest": kind === "image" ? "image" : "video",
    "sec-fetch-mode": "no-cors",
    "sec-fetch-site": "same-site",
    "user-agent": id.userAgent,
    ...clientHints(id.userAgent),
  };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });

/**
 * One asset with the account's cookies. Retries 403, 408, 425, 429 and 5xx (three attempts);
 * a wrong Content-Type, an oversize body or a final refusal is an UpstreamError.
 */
export async function downloadAsset(ctx: GrokContext, acc: GrokAccountRef, ref: string, opts: AssetOptions): Promise<AssetDownload> {
  const limit = opts.maxBytes ?? (opts.kind === "image" ? MAX_IMAGE_ASSET_BYTES : MAX_VIDEO_ASSET_BYTES);
  const inline = decodeDataUrl(ref);
  if (inline) {
    if (inline.data.byteLength > limit) throw new UpstreamError(failure("upstream_error", `generated ${opts.kind} larger than ${limit} bytes`));
    return inline;
  }
  const url = assetUrl(ref, opts.assetsOrigin).toString();
  const delays = opts.retryDelaysMs ?? [200, 750];
  const timeoutMs = opts.timeoutMs ?? (opts.kind === "image" ? 60_000 : 300_000);
  const proxyUrl = ctx.settings().cache_proxy_url.trim() || ctx.proxyUrl();
  for (let attempt = 0; ; attempt++) {
    const timer = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timer]) : timer;
    let status = 0;
    try {
      const res = await ctx.transport.request(url, { method: "GET", headers: headersFor(ctx, acc, opts.kind), signal, ...(proxyUrl ? { proxyUrl } : {}) });
      status = res.status;
      if (status !== 200) {
        const text = await res.text().catch(() => "");
        const f = classifyHttp(status, text, res.headers);
        // An asset refused with an unreadable 403 is the CDN's cookie check, not an account fault.
        const refused = status === 403 && !text.trim() ? failure("upstream_error", "grok.com's asset host refused the download (403) with this account's cookies", { status }) : f;
        if ((RETRY_STATUS.has(status) || status >= 500) && attempt < delays.length) {
          await sleep(delays[attempt]!, opts.signal);
          continue;
        }
        throw new UpstreamError(refused);
      }
      const mime = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
      if (!typeAllowed(opts.kind, mime)) {
        res.cancel();
        throw new UpstreamError(failure("upstream_error", `the asset host answered ${mime} where ${opts.kind === "image" ? "an image" : "a video"} was expected`));
      }
      const declared = Number(res.headers.get("content-length") ?? NaN);
      if (declared > limit) {
        res.cancel();
        throw new UpstreamError(failure("upstream_error", `generated ${opts.kind} larger than ${limit} bytes`));
      }
      const parts: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += chunk.byteLength;
        if (size > limit) {
          res.cancel();
          throw new UpstreamError(failure("upstream_error", `generated ${opts.kind} larger than ${limit} bytes`));
        }
        parts.push(chunk);
      }
      const data = Buffer.concat(parts);
      return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), mime: mime === "application/octet-stream" && opts.kind === "video" ? "video/mp4" : mime };
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      if (opts.signal?.aborted) throw err;
      if (attempt < delays.length) {
        await sleep(delays[attempt]!, opts.signal);
        continue;
      }
      const f = classifyTransportError(err);
      throw new UpstreamError(timer.aborted ? failure("timeout", `asset download took longer than ${Math.round(timeoutMs / 1000)}s`) : f);
    }
  }
}
