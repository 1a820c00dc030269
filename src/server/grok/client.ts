import type { IncomingMessage } from "node:http";
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import type { GrokSettings } from "../config/settings-schema.js";
import type { Logger } from "../log.js";
import type { QuotaReading } from "../pool/api.js";
import { AsyncQueue } from "./async-queue.js";
import { type GrokChatRequest, itemEvents, restChatBody, sessionCreateEvent } from "./chat-request.js";
import { classifyHttp, classifyTransportError, failure } from "./classify.js";
import type { GrokEvent } from "../core/events.js";
import { FrameParser } from "./frames.js";
import { type Identity, restHeaders, sessionHeaders, websocketHeaders } from "./identity.js";
import { JsonObjectScanner } from "./json-scanner.js";
import { StatsigProvider } from "./statsig.js";
import { type HttpTransport, createTransport, wsProxyAgent } from "./transport.js";
import { UpstreamError } from "./upstream-error.js";
import { uploadMultipart, uploadReference } from "./upload.js";

/** The account fields the upstream client needs. */
export interface GrokAccountRef {
  token: string;
  userId: string | null;
}

export interface GrokClientOptions {
  upstreamUrl: string;
  assetsUrl: string;
  transport: "impit" | "fetch";
  settings: () => GrokSettings;
  log: Logger;
  /** Called when a user id was resolved, so the caller can persist it. */
  onUserId?: (token: string, userId: string) => void;
}

const CHAT_PATH = "/rest/app-chat/conversations/new";
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PING_MS = 25_000;
const HANDSHAKE_MS = 20_000;

function nodeHeaders(res: IncomingMessage): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
  return h;
}

/**
 * The only code that talks to grok.com: identity headers, statsig, both chat transports
 * (WebSocket gateway §3 and REST NDJSON §4), the session lookup and the quota endpoints.
 */
export class GrokClient {
  readonly statsig: StatsigProvider;
  private transportImpl: HttpTransport;

  constructor(private readonly opts: GrokClientOptions) {
    this.transportImpl = createTransport(opts.transport, () => opts.settings().user_agent);
    this.statsig = new StatsigProvider({
      settings: opts.settings,
      identity: () => this.identity(),
      transport: () => this.transportImpl,
      proxyUrl: () => this.proxyUrl(),
    });
  }

  get transportName(): "impit" | "fetch" {
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
      acceptEncoding: this.transportImpl.name === "impit" ? "gzip, deflate, br, zstd" : "gzip, deflate, br",
    };
  }

  proxyUrl(): string | undefined {
    return this.opts.settings().proxy_url.trim() || undefined;
  }

  /** Chat over the configured transport; `auto` uses the gateway and falls back to REST when the gateway is refused. */
  async *chat(req: GrokChatRequest, acc: GrokAccountRef, signal: AbortSignal, gatewayAvailable = true): AsyncGenerator<GrokEvent> {
    const mode = this.opts.settings().chat_transport;
    if (mode === "rest" || !gatewayAvailable) return yield* this.chatRest(req, acc, signal);
    if (mode === "gateway") return yield* this.chatGateway(req, acc, signal);
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

  // ------------------------------------------------------------------ session (§2.2)

  async resolveUserId(acc: GrokAccountRef, signal?: AbortSignal): Promise<string> {
    const id = this.identity();
    let res;
    try {
      res = await this.transportImpl.request(`${this.origin}/api/auth/session`, { method: "GET", headers: sessionHeaders(id, acc.token), signal, proxyUrl: this.proxyUrl() });
    } catch (err) {
      throw new UpstreamError(classifyTransportError(err));
    }
    const text = await res.text();
    if (res.status !== 200) throw new UpstreamError(classifyHttp(res.status, text, res.headers));
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text);
    } catch {
      throw new UpstreamError(failure("upstream_error", "session lookup returned no JSON", { status: res.status }));
    }
    if (body.status === "blocked") throw new UpstreamError(failure("banned", "account banned (session status blocked)"));
    if (body.status === "unauthenticated") throw new UpstreamError(failure("unauthorized", "SSO cookie logged out or expired (session unauthenticated)"));
    const o = (v: unknown) => (v && typeof v === "object" ? (v as Record<string, unknown>) : {});
    const candidates = [o(body.session).userId, o(body.user).id, o(body.user).userId, o(body.user).sub, body.id, body.userId, body.sub];
    const found = candidates.find((c) => typeof c === "string" && UUID_RE.test(c)) as string | undefined;
    if (!found) throw new UpstreamError(failure("upstream_error", "session lookup returned no user id"));
    const userId = found.toLowerCase();
    this.opts.onUserId?.(acc.token, userId);
    acc.userId = userId;
    return userId;
  }

  // ------------------------------------------------------------------ REST (§4)

  async *chatRest(req: GrokChatRequest, acc: GrokAccountRef, signal: AbortSignal): AsyncGenerator<GrokEvent> {
    for (let attempt = 0; ; attempt++) {
      const statsig = await this.statsig.get("POST", CHAT_PATH, acc.token, signal);
      let res;
      try {
        res = await this.transportImpl.request(`${this.origin}${CHAT_PATH}`, {
          method: "POST",
          headers: restHeaders(this.identity(), acc.token, { statsig }),
          body: JSON.stringify(restChatBody(req)),
          signal,
          proxyUrl: this.proxyUrl(),
        });
      } catch (err) {
        if (signal.aborted) throw err;
        throw new UpstreamError(classifyTransportError(err));
      }
      if (res.status !== 200) {
        const f = classifyHttp(res.status, await res.text().catch(() => ""), res.headers);
        if (f.kind === "anti_bot" && attempt === 0) {
          this.statsig.invalidate("POST", CHAT_PATH); // fresh statsig, same account, once
          continue;
        }
        throw new UpstreamError(f);
      }
      const events = this.readRest(res.body, res.cancel, signal);
      const first = await events.next();
      if (!first.done && first.value.type === "error" && first.value.error.kind === "anti_bot" && attempt === 0) {
        await events.return(undefined);
        this.statsig.invalidate("POST", CHAT_PATH);
        continue;
      }
      if (!first.done) {
        yield first.value;
        yield* events;
      }
      return;
    }
  }

  private async *readRest(body: AsyncIterable<Uint8Array>, cancel: () => void, signal: AbortSignal): AsyncGenerator<GrokEvent> {
    const parser = new FrameParser({ filteredTags: this.filteredTags() });
    const scanner = new JsonObjectScanner();
    const frames = (objects: unknown[]) => objects.flatMap((o) => parser.push(o));
    try {
      try {
        for await (const chunk of body) yield* frames(scanner.push(chunk));
      } catch (err) {
        if (signal.aborted) throw err;
        yield { type: "error", error: classifyTransportError(err) };
        return;
      }
      yield* frames(scanner.end());
      if (scanner.truncated) {
        yield { type: "error", error: failure("network", "grok.com closed the stream in the middle of a frame") };
        return;
      }
      yield* parser.end();
      yield { type: "done", responseId: parser.responseId, status: "completed" };
    } finally {
      cancel();
      if (parser.unknownFrames || scanner.noise) this.opts.log.debug("rest stream had unknown frames", { unknownFrames: parser.unknownFrames, noise: scanner.noise });
    }
  }

  // ------------------------------------------------------------------ gateway (§3)

  async *chatGateway(req: GrokChatRequest, acc: GrokAccountRef, signal: AbortSignal): AsyncGenerator<GrokEvent> {
    const userId = acc.userId ?? (await this.resolveUserId(acc, signal));
    const wsOrigin = this.origin.replace(/^http/, "ws");
    const url = `${wsOrigin}/ws/mgw/?uid=${encodeURIComponent(userId)}`;
    const queue = new AsyncQueue<unknown>();
    const ws = new WebSocket(url, {
      headers: websocketHeaders(this.identity(), acc.token, userId),
      handshakeTimeout: HANDSHAKE_MS,
      maxPayload: 16 * 1024 * 1024,
      agent: wsProxyAgent(this.proxyUrl()),
      followRedirects: false,
    });
    const parser = new FrameParser({ filteredTags: this.filteredTags() });
    const initId = `evt_init_${randomUUID()}`;
    let sessionId: string | null = null;
    let created = false;
    let attached = false;
    let sentItem = false;
    let finished = false;
    let ping: NodeJS.Timeout | null = null;
    const onAbort = () => ws.terminate();
    signal.addEventListener("abort", onAbort, { once: true });

    ws.on("unexpected-response", (_req, res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => queue.fail(new UpstreamError(classifyHttp(res.statusCode ?? 0, Buffer.concat(parts).toString("utf8"), nodeHeaders(res)))));
      res.on("error", (err) => queue.fail(new UpstreamError(classifyTransportError(err))));
    });
    ws.on("open", () => {
      ws.send(JSON.stringify(sessionCreateEvent(req, initId)));
      ping = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ event: { type: "ping", event_id: `evt_hb_${Date.now()}` } }));
      }, PING_MS);
    });
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      try {
        queue.push(JSON.parse(data.toString()));
      } catch {
        parser.unknownFrames++;
      }
    });
    ws.on("error", (err) => queue.fail(err instanceof UpstreamError ? err : new UpstreamError(classifyTransportError(err))));
    ws.on("close", (code, reason) => {
      if (!finished) queue.fail(new UpstreamError(failure("network", `grok.com gateway closed the connection (${code}${reason.length ? ` ${reason.toString()}` : ""}) before the response completed`)));
      else queue.close();
    });

    let produced = false;
    try {
      for await (const frame of queue) {
        const f = frame as { session_id?: string; event?: { type?: string; client_event_id?: string } };
        const type = f.event?.type;
        if (type === "session.created") {
          if (f.event?.client_event_id && f.event.client_event_id !== initId) continue; // not ours
          created = true;
          sessionId = f.session_id ?? sessionId;
        } else if (type === "conversation.attached") {
          attached = true;
        } else if (sessionId && f.session_id && f.session_id !== sessionId) continue; // another session's event
        for (const e of parser.push(frame)) {
          if (e.type === "done" || e.type === "error") finished = true;
          produced = true;
          yield e;
          if (finished) return;
        }
        if (created && attached && !sentItem && sessionId) {
          sentItem = true;
          for (const m of itemEvents(req, sessionId)) ws.send(JSON.stringify(m));
        }
      }
    } catch (err) {
      if (signal.aborted) throw err;
      if (produced) {
        yield { type: "error", error: err instanceof UpstreamError ? err.failure : classifyTransportError(err) };
        return;
      }
      throw err;
    } finally {
      finished = true;
      if (ping) clearInterval(ping);
      signal.removeEventListener("abort", onAbort);
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      else ws.terminate();
      if (parser.unknownFrames) this.opts.log.debug("gateway had unknown frames", { unknownFrames: parser.unknownFrames });
    }
  }

  // ------------------------------------------------------------------ uploads (§6.2)

  /** Multipart upload v2; resolves to the id to attach. Same account, UA and egress as the chat. */
  async upload(acc: GrokAccountRef, file: { name: string; mime: string; data: Uint8Array }, signal?: AbortSignal): Promise<string> {
    const { body, contentType } = uploadMultipart(file);
    let res;
    try {
      res = await this.transportImpl.request(`${this.origin}/http/upload-file-v2/direct`, {
        method: "POST",
        headers: restHeaders(this.identity(), acc.token, { requestId: false, contentType }),
        body,
        signal,
        proxyUrl: this.proxyUrl(),
      });
    } catch (err) {
      throw new UpstreamError(classifyTransportError(err));
    }
    const text = await res.text();
    if (res.status !== 200) throw new UpstreamError(classifyHttp(res.status, text, res.headers));
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new UpstreamError(failure("upstream_error", "upload answer was not JSON"));
    }
    try {
      return uploadReference(parsed).id;
    } catch (f) {
      throw new UpstreamError(f as ReturnType<typeof failure>);
    }
  }

  // ------------------------------------------------------------------ quota (§10)

  private async postJson(path: string, acc: GrokAccountRef, body: unknown, referer: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const statsig = await this.statsig.get("POST", path, acc.token, signal);
    let res;
    try {
      res = await this.transportImpl.request(`${this.origin}${path}`, {
        method: "POST",
        headers: restHeaders(this.identity(), acc.token, { statsig, referer }),
        body: JSON.stringify(body),
        signal,
        proxyUrl: this.proxyUrl(),
      });
    } catch (err) {
      throw new UpstreamError(classifyTransportError(err));
    }
    const text = await res.text();
    if (res.status !== 200) {
      const f = classifyHttp(res.status, text, res.headers);
      if (f.kind === "anti_bot") this.statsig.invalidate("POST", path);
      throw new UpstreamError(f);
    }
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new UpstreamError(failure("upstream_error", `${path} returned no JSON`));
    }
  }

  /** `POST /rest/rate-limits` per mode (§10.1). */
  async chatQuota(acc: GrokAccountRef, modes: string[], signal?: AbortSignal): Promise<QuotaReading[]> {
    const out: QuotaReading[] = [];
    for (const mode of modes) {
      const r = await this.postJson("/rest/rate-limits", acc, { modelName: mode }, `${this.origin}/`, signal);
      let total = typeof r.totalQueries === "number" ? r.totalQueries : 0;
      let remaining = typeof r.remainingQueries === "number" ? r.remainingQueries : 0;
      if (!total && typeof r.totalTokens === "number" && r.totalTokens > 0) {
        // legacy token-budget variant
        total = r.totalTokens;
        remaining = typeof r.remainingTokens === "number" ? r.remainingTokens : 0;
      }
      if (!(total > 0)) continue; // unusable answer: mode not available to this account
      const window = typeof r.windowSizeSeconds === "number" ? r.windowSizeSeconds : 7200;
      const wait = typeof r.waitTimeSeconds === "number" && r.waitTimeSeconds > 0 ? r.waitTimeSeconds : null;
      out.push({ mode, remaining, total, windowSeconds: window, resetAt: remaining <= 0 ? Date.now() + (wait ?? window) * 1000 : null });
    }
    return out;
  }

  /** `POST /rest/media/imagine/quota_info` (§10.2). */
  async mediaQuota(acc: GrokAccountRef, signal?: AbortSignal): Promise<QuotaReading[]> {
    const r = await this.postJson("/rest/media/imagine/quota_info", acc, {}, `${this.origin}/imagine`, signal);
    const map: Record<string, string> = { imagePro: "image_pro", imageEdit: "image_edit", video: "video", video720p: "video_720p" };
    const out: QuotaReading[] = [];
    for (const [key, mode] of Object.entries(map)) {
      const q = r[key] as Record<string, unknown> | null | undefined;
      if (!q || q.available !== true || typeof q.remainingQueries !== "number") continue;
      const next = typeof q.nextAvailableAt === "string" ? Date.parse(q.nextAvailableAt) : NaN;
      out.push({
        mode,
        remaining: q.remainingQueries,
        total: Math.max(q.remainingQueries, 0),
        windowSeconds: typeof q.windowSizeSeconds === "number" ? q.windowSizeSeconds : null,
        resetAt: Number.isFinite(next) ? next : null,
      });
    }
    return out;
  }

  private filteredTags(): string[] {
    return this.opts
      .settings()
      .filtered_tags.split(",")
      .map((t) => t.trim())
      .filter(Boolean);
  }
}
