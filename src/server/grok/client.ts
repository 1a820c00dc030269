import type { GrokSettings } from "../config/settings-schema.js";
import type { GrokEvent } from "../core/events.js";
import type { Logger } from "../log.js";
import type { QuotaReading } from "../core/quota.js";
import type { GrokChatRequest } from "./chat-request.js";
import type { GrokAccountRef, GrokContext } from "./context.js";
import { type GatewayBufferStats, chatGateway } from "./gateway-chat.js";
import type { Identity } from "./identity.js";
import { chatQuota, mediaQuota } from "./quota.js";
import { resolveUserId } from "./session.js";
import { StatsigProvider } from "./statsig.js";
import type { GatewaySocketFactory } from "./gateway-socket.js";
import { type HttpTransport, createTransport } from "./transport.js";
import { UpstreamError } from "./upstream-error.js";
import { uploadFile } from "./upload.js";
import { type EditRequest, editImage, uploadImagineInput } from "./image-edit.js";
import { type ImagineRequest, imagineRound } from "./imagine.js";
import { chatRest, postConversation } from "./rest-chat.js";
import { readResponseAudio } from "./tts.js";
import { createMediaPost, uploadVideoInput } from "./video.js";
import { type AssetDownload, type AssetOptions, assetUrl, downloadAsset } from "./assets.js";

export type { GrokAccountRef } from "./context.js";

export interface GrokClientOptions {
  upstreamUrl: string;
  assetsUrl: string;
  transport: "impit" | "fetch";
  settings: () => GrokSettings;
  log: Logger;
  /** Called when a user id was resolved, so the caller can persist it. */
  onUserId?: (token: string, userId: string) => void;
  /** Upstream implementations from an embedding app (the desktop app's Chromium stack) instead of the server's own. */
  upstream?: UpstreamHooks;
}

/** What an embedding app may supply for the upstream connections (neither is required). */
export interface UpstreamHooks {
  /** Replaces impit / fetch (GROK2API_TRANSPORT) for every HTTP request. */
  http?: HttpTransport;
  /** Opens the gateway WebSocket instead of `ws`. */
  gatewaySocket?: GatewaySocketFactory;
}

/**
 * The only code that talks to grok.com. A facade over the endpoint modules, which share one
 * GrokContext: the session lookup (`session.ts`), both chat transports (`gateway-chat.ts` §3,
 * `rest-chat.ts` §4), uploads (`upload.ts`) and the quota endpoints (`quota.ts`).
 */
export class GrokClient {
  readonly statsig: StatsigProvider;
  private readonly transportImpl: HttpTransport;
  private readonly ctx: GrokContext;
  private readonly gatewayBuffer: GatewayBufferStats = { peakFrames: 0, peakBytes: 0, pauses: 0 };

  constructor(private readonly opts: GrokClientOptions) {
    this.transportImpl = opts.upstream?.http ?? createTransport(opts.transport, () => opts.settings().user_agent);
    this.statsig = new StatsigProvider({
      settings: opts.settings,
      identity: () => this.identity(),
      transport: () => this.transportImpl,
      proxyUrl: () => this.proxyUrl(),
    });
    this.ctx = {
      origin: opts.upstreamUrl,
      transport: this.transportImpl,
      statsig: this.statsig,
      log: opts.log,
      settings: opts.settings,
      identity: () => this.identity(),
      proxyUrl: () => this.proxyUrl(),
      onUserId: opts.onUserId,
      ...(opts.upstream?.gatewaySocket ? { gatewaySocket: opts.upstream.gatewaySocket } : {}),
    };
  }

  get transportName(): HttpTransport["name"] {
    return this.transportImpl.name;
  }

  get origin(): string {
    return this.opts.upstreamUrl;
  }

  identity(): Identity {
    const s = this.opts.settings();
    return {
      userAgent: s.user_agent,
      cfClearance: s.cf_clearance,
      origin: this.opts.upstreamUrl,
      acceptEncoding: this.transportImpl.name === "fetch" ? "gzip, deflate, br" : "gzip, deflate, br, zstd",
    };
  }

  proxyUrl(): string | undefined {
    return this.opts.settings().proxy_url.trim() || undefined;
  }

  /** Read-only backpressure figures of the gateway chats so far (see GATEWAY_BUFFER in gateway-chat.ts). */
  get gatewayBufferStats(): Readonly<GatewayBufferStats> {
    return { ...this.gatewayBuffer };
  }

  /**
   * Chat over the configured transport; `auto` uses the gateway and falls back to REST when the
   * gateway is refused. The transport's own generator is returned where no fallback is needed
   * (one async-generator layer less per open stream).
   */
  chat(req: GrokChatRequest, acc: GrokAccountRef, signal: AbortSignal, gatewayAvailable = true): AsyncGenerator<GrokEvent> {
    const mode = this.opts.settings().chat_transport;
    if (mode === "rest" || !gatewayAvailable) return this.chatRest(req, acc, signal);
    if (mode === "gateway") return this.chatGateway(req, acc, signal);
    return this.chatAuto(req, acc, signal);
  }

  private async *chatAuto(req: GrokChatRequest, acc: GrokAccountRef, signal: AbortSignal): AsyncGenerator<GrokEvent> {
    let started = false;
    try {
      for await (const e of this.chatGateway(req, acc, signal)) {
        started = true;
        yield e;
      }
    } catch (err) {
      const kind = err instanceof UpstreamError ? err.failure.kind : null;
      if (started || signal.aborted || !(kind === "cloudflare" || kind === "network" || kind === "upstream_error")) throw err;
      this.opts.log.info("gateway refused, falling back to REST", { reason: (err as Error).message });
      yield* this.chatRest(req, acc, signal);
    }
  }

  /** `GET /api/auth/session` (§2.2): the account's user id; also stored on `acc` and reported via `onUserId`. */
  resolveUserId(acc: GrokAccountRef, signal?: AbortSignal): Promise<string> {
    return resolveUserId(this.ctx, acc, signal);
  }

  /** REST NDJSON chat (§4). */
  chatRest(req: GrokChatRequest, acc: GrokAccountRef, signal: AbortSignal): AsyncGenerator<GrokEvent> {
    return chatRest(this.ctx, req, acc, signal);
  }

  /** WebSocket gateway chat (§3). */
  chatGateway(req: GrokChatRequest, acc: GrokAccountRef, signal: AbortSignal): AsyncGenerator<GrokEvent> {
    return chatGateway(this.ctx, req, acc, signal, this.gatewayBuffer);
  }

  /** Multipart upload v2 (§6.2); resolves to the id to attach. Same account, UA and egress as the chat. */
  upload(acc: GrokAccountRef, file: { name: string; mime: string; data: Uint8Array }, signal?: AbortSignal): Promise<string> {
    return uploadFile(this.ctx, acc, file, signal);
  }

  /** `POST /rest/rate-limits` per mode (§10.1). */
  chatQuota(acc: GrokAccountRef, modes: string[], signal?: AbortSignal): Promise<QuotaReading[]> {
    return chatQuota(this.ctx, acc, modes, signal);
  }

  /** `POST /rest/media/imagine/quota_info` (§10.2). */
  mediaQuota(acc: GrokAccountRef, signal?: AbortSignal): Promise<QuotaReading[]> {
    return mediaQuota(this.ctx, acc, signal);
  }

  // ---- video and speech (§8, §9; flows in media/video-call.ts and media/speech.ts) ----

  /** `conversations/new` with a body built by a media flow (text-to-video, media-post video, the TTS turn) and its Referer. */
  postConversation(body: Record<string, unknown>, acc: GrokAccountRef, signal: AbortSignal, referer: string): AsyncGenerator<GrokEvent> {
    return postConversation(this.ctx, body, acc, signal, { referer });
  }

  /** `GET /http/app-chat/read-response-audio-file/<responseId>` (§9): the WAV of an assistant response of the same account. */
  readResponseAudio(acc: GrokAccountRef, responseId: string, opts: { voiceId?: string | null; signal?: AbortSignal } = {}): Promise<Uint8Array> {
    return readResponseAudio(this.ctx, acc, responseId, opts);
  }

  /** `POST /rest/media/post/create` (§8.2); resolves to the post id. */
  createMediaPost(acc: GrokAccountRef, post: Parameters<typeof createMediaPost>[2], signal?: AbortSignal): Promise<string> {
    return createMediaPost(this.ctx, acc, post, signal);
  }

  /** Upload v2 of an image-to-video input (§6.2); the reference and its asset path. */
  uploadVideoInput(acc: GrokAccountRef, file: { name: string; mime: string; data: Uint8Array }, signal?: AbortSignal): Promise<{ id: string; fileUri: string }> {
    return uploadVideoInput(this.ctx, acc, file, signal);
  }

  /** The absolute URL of an asset path grok.com returned (relative paths hang off the assets origin). */
  assetUrl(ref: string): string {
    return assetUrl(ref, this.opts.assetsUrl).toString();
  }

  /** A generated asset with the account's cookies, while its lease is held (assets.ts). */
  downloadAsset(acc: GrokAccountRef, ref: string, opts: Omit<AssetOptions, "assetsOrigin">): Promise<AssetDownload> {
    return downloadAsset(this.ctx, acc, ref, { ...opts, assetsOrigin: this.opts.assetsUrl });
  }

  // ---- images (§7.3, §7.4; flows in media/image-jobs.ts) ----

  /** One round on the Imagine WebSocket: an `image` event per resolved slot, then `done`. */
  imagine(acc: GrokAccountRef, req: ImagineRequest, signal: AbortSignal): AsyncGenerator<GrokEvent> {
    return imagineRound(this.ctx, acc, req, signal);
  }

  /** Upload v2 of an image-edit input (`file_source` Imagine); resolves to its fileMetadataId. */
  uploadImagineInput(acc: GrokAccountRef, file: { name: string; mime: string; data: Uint8Array }, signal?: AbortSignal): Promise<string> {
    return uploadImagineInput(this.ctx, acc, file, signal);
  }

  /** One `imagine-image-edit` turn over uploaded inputs. */
  editImage(acc: GrokAccountRef, req: EditRequest, signal: AbortSignal): AsyncGenerator<GrokEvent> {
    return editImage(this.ctx, acc, req, signal);
  }
}
