import type { GrokEvent } from "../core/events.js";
import { EVENTS_DONE, isOutputEvent } from "../core/events.js";
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
  return (acc, signal) => new ServedImages(call(acc, signal)[Symbol.asyncIterator](), acc, signal, opts);
}

const item = (value: GrokEvent): IteratorResult<GrokEvent> => ({ value, done: false });

/**
 * The events of one call with its images served. An iterator object rather than an async
 * generator: every open chat stream holds one, and most of them pass events through untouched.
 */
class ServedImages implements AsyncIterableIterator<GrokEvent> {
  private seen: Set<string> | null = null; // made at the first image: most answers have none
  private served = 0;
  private moderated = 0;
  private rateLimited = false;
  private other = false; // any output besides images
  private after: GrokEvent | null = null; // the `done` that follows the moderation note
  private over = false;

  constructor(
    private readonly inner: AsyncIterator<GrokEvent>,
    private readonly acc: GrokAccountRef,
    private readonly signal: AbortSignal,
    private readonly opts: ImageServing,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<GrokEvent>> {
    if (this.after) {
      const e = this.after;
      this.after = null;
      return Promise.resolve(item(e));
    }
    if (this.over) return Promise.resolve(EVENTS_DONE);
    return this.inner.next().then((r) => this.step(r));
  }

  return(): Promise<IteratorResult<GrokEvent>> {
    this.stop();
    return Promise.resolve(EVENTS_DONE);
  }

  /** No more events: the call is closed (as a generator's loop closes its source). */
  private stop(): void {
    if (this.over) return;
    this.over = true;
    this.after = null;
    void this.inner.return?.()?.catch(() => {});
  }

  private step(r: IteratorResult<GrokEvent>): Promise<IteratorResult<GrokEvent>> | IteratorResult<GrokEvent> {
    if (r.done || this.over) {
      this.over = true;
      return EVENTS_DONE;
    }
    const e = r.value;
    if (e.type === "image") {
      if (e.moderated) {
        this.moderated++;
        return this.next();
      }
      if (e.errorCode) this.rateLimited ||= /rate/i.test(e.errorCode);
      if (!e.final || !e.url || e.servedUrl) return e.servedUrl ? item(e) : this.next();
      // One image per id; asset URLs dedupe too (the same image repeated), data: blobs do not.
      const urlKey = e.url.startsWith("data:") ? null : e.url;
      const seen = (this.seen ??= new Set<string>());
      if ((e.id && seen.has(`id:${e.id}`)) || (urlKey && seen.has(urlKey))) return this.next();
      if (e.id) seen.add(`id:${e.id}`);
      if (urlKey) seen.add(urlKey);
      if (this.opts.maxImages !== undefined && this.served >= this.opts.maxImages) return this.next();
      return this.serve(e, e.url);
    }
    if (e.type === "done" && this.served === 0) {
      if (this.moderated > 0 && !this.other) {
        this.stop();
        return item({ type: "error", error: failure("request", `${MODERATION_MESSAGE}${this.moderated > 1 ? ` (all ${this.moderated} images)` : ""}; nothing usable remains. Rephrase the prompt.`) });
      }
      if (this.moderated > 0) {
        this.after = e;
        return item({ type: "text", text: "\n\n*(grok.com's moderation blocked the generated image.)*" });
      }
      if (this.opts.requireImage) {
        this.stop();
        return item({ type: "error", error: this.rateLimited ? failure("rate_limited", "rate limited: grok.com's image quota of this account is used up") : failure("empty", "grok.com finished without a usable image") });
      }
    }
    if (isOutputEvent(e)) this.other = true;
    return item(e);
  }

  /** Downloads one final image with the account, caches it and passes it on with its served URL. */
  private async serve(e: Extract<GrokEvent, { type: "image" }>, url: string): Promise<IteratorResult<GrokEvent>> {
    const opts = this.opts;
    try {
      const dl = await opts.download(this.acc, url, this.signal);
      const entry = await opts.cache.put("image", dl.data, { mime: dl.mime || "image/jpeg", prompt: opts.prompt });
      const servedUrl = opts.mode === "base64" ? `data:${entry.mime};base64,${Buffer.from(dl.data).toString("base64")}` : mediaUrl(opts.origin, "image", entry.name);
      this.served++;
      return item({ ...e, servedUrl });
    } catch (err) {
      this.stop();
      throw err;
    }
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
