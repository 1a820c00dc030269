import type { GrokEvent } from "../core/events.js";
import { isOutputEvent } from "../core/events.js";
import type { AssetDownload } from "../grok/assets.js";
import type { GrokAccountRef } from "../grok/context.js";
import { failure } from "../grok/classify.js";
import type { MediaCache } from "./cache.js";
import { mediaUrl, publicOrigin } from "./urls.js";

/**
 * Generated images inside an upstream call, with the leased account: every final, unmoderated
 * image grok.com announces (REST `streamingImageGenerationResponse`, 2026 card attachments,
 * gateway cards, Imagine frames) is downloaded with that account's cookies while the call — and
 * so the lease — is still running, stored in the media cache, and passed on with `servedUrl`
 * (a proxy URL, or a data: URL in base64 mode). Previews are dropped (keep-alives cover the
 * wait), repeats of one image are shown once, moderated images are dropped: if that leaves
 * nothing at all, the call ends with a moderation error (the request's fault: not retried on
 * another account, not held against this one).
 */
export interface ImageServing {
  cache: MediaCache;
  /** Downloads one asset reference (relative path, URL or data: URL) with the account. */
  download: (acc: GrokAccountRef, ref: string, signal: AbortSignal) => Promise<AssetDownload>;
  /** Origin for the proxy URLs (base_url or the request's own). */
  origin: string;
  mode: "url" | "base64";
  /** Stored with each file (the cache browser shows it). */
  prompt: string | null;
  /** Image-only calls (the Images API, image models): no usable image is a failure. */
  requireImage?: boolean;
  /** Stop after this many images (the rest are not downloaded). */
  maxImages?: number;
}

export type UpstreamCall = (acc: GrokAccountRef, signal: AbortSignal) => AsyncIterable<GrokEvent>;

export const MODERATION_MESSAGE = "rejected by content moderation: grok.com's moderation blocked the generated image";

export function withImageDownloads(call: UpstreamCall, opts: ImageServing): UpstreamCall {
  // an arrow over a module-level generator: a generator function made per request would carry a
  // prototype object of its own (~0.6 KiB held by every open stream)
  return (acc, signal) => servedImages(call(acc, signal), acc, signal, opts);
}

async function* servedImages(events: AsyncIterable<GrokEvent>, acc: GrokAccountRef, signal: AbortSignal, opts: ImageServing): AsyncGenerator<GrokEvent> {
  let seen: Set<string> | null = null; // made at the first image: most answers have none
  let served = 0;
  let moderated = 0;
  let rateLimited = false;
  let other = false; // any output besides images
  for await (const e of events) {
    if (e.type === "image") {
      if (e.moderated) {
        moderated++;
        continue;
      }
      if (e.errorCode) rateLimited ||= /rate/i.test(e.errorCode);
      if (!e.final || !e.url || e.servedUrl) {
        if (e.servedUrl) yield e;
        continue;
      }
      // One image per id; asset URLs dedupe too (the same image repeated), data: blobs do not.
      const urlKey = e.url.startsWith("data:") ? null : e.url;
      seen ??= new Set<string>();
      if ((e.id && seen.has(`id:${e.id}`)) || (urlKey && seen.has(urlKey))) continue;
      if (e.id) seen.add(`id:${e.id}`);
      if (urlKey) seen.add(urlKey);
      if (opts.maxImages !== undefined && served >= opts.maxImages) continue;
      const dl = await opts.download(acc, e.url, signal);
      const entry = await opts.cache.put("image", dl.data, { mime: dl.mime || "image/jpeg", prompt: opts.prompt });
      const servedUrl = opts.mode === "base64" ? `data:${entry.mime};base64,${Buffer.from(dl.data).toString("base64")}` : mediaUrl(opts.origin, "image", entry.name);
      served++;
      yield { ...e, servedUrl };
      continue;
    }
    if (e.type === "done" && served === 0) {
      if (moderated > 0 && !other) {
        yield { type: "error", error: failure("request", `${MODERATION_MESSAGE}${moderated > 1 ? ` (all ${moderated} images)` : ""}; nothing usable remains. Rephrase the prompt.`) };
        return;
      }
      if (moderated > 0) yield { type: "text", text: "\n\n*(grok.com's moderation blocked the generated image.)*" };
      else if (opts.requireImage) {
        yield { type: "error", error: rateLimited ? failure("rate_limited", "rate limited: grok.com's image quota of this account is used up") : failure("empty", "grok.com finished without a usable image") };
        return;
      }
    }
    if (isOutputEvent(e)) other = true;
    yield e;
  }
}

/** The per-request ImageServing for the runner and the Images API: cache, the account's downloads, origin, image_mode. */
export function imageServingFor(d: {
  media: MediaCache;
  download: (acc: GrokAccountRef, ref: string, opts: { kind: "image"; signal?: AbortSignal }) => Promise<AssetDownload>;
  global: () => { base_url: string; image_mode: "url" | "base64" };
}) {
  return (req: { protocol: string; host: string }, prompt: string | null, extra: Partial<ImageServing> = {}): ImageServing => ({
    cache: d.media,
    download: (acc, ref, signal) => d.download(acc, ref, { kind: "image", signal }),
    origin: publicOrigin(req, d.global().base_url),
    mode: d.global().image_mode,
    prompt,
    ...extra,
  });
}
