import { randomUUID } from "node:crypto";
import { EVENTS_DONE, type GrokEvent } from "../core/events.js";
import { AsyncQueue, type QueueFlow, type QueueSink, type QueueStats } from "./async-queue.js";
import { type GrokChatRequest, itemEvents, sessionCreateEvent } from "./chat-request.js";
import { classifyHttp, classifyTransportError, failure } from "./classify.js";
import { type GrokAccountRef, type GrokContext, filteredTags } from "./context.js";
import { FrameParser } from "./frames.js";
import { type GatewaySocket, type GatewaySocketHandlers, wsGatewaySocket } from "./gateway-socket.js";
import { websocketHeaders } from "./identity.js";
import { resolveUserId } from "./session.js";
import { UpstreamError } from "./upstream-error.js";

const PING_MS = 25_000;
const HANDSHAKE_MS = 20_000;

/**
 * Backpressure for a slow reader: frames received but not yet consumed are buffered up to
 * 64 frames or 256 KiB of frame text; beyond that the WebSocket stops reading its socket (the
 * rest waits in TCP buffers and on grok.com's side) until the reader is down to 16 frames and
 * 64 KiB (a stalled client then costs the proxy a few hundred KiB, not megabytes). The socket read in hand when a mark is crossed is still delivered, so the buffer can
 * exceed the mark by that read's frames (≤ 64 KiB, or a single frame of up to maxPayload).
 */
export const GATEWAY_BUFFER = { highWaterFrames: 64, highWaterBytes: 256 * 1024, lowWaterFrames: 16, lowWaterBytes: 64 * 1024 } as const;

/** Backpressure figures across the gateway chats of one client: the largest buffer any chat held, and how often reading paused. */
export interface GatewayBufferStats {
  peakFrames: number;
  peakBytes: number;
  pauses: number;
}

function record(into: GatewayBufferStats | undefined, q: Readonly<QueueStats>): void {
  if (!into) return;
  into.peakFrames = Math.max(into.peakFrames, q.peakItems);
  into.peakBytes = Math.max(into.peakBytes, q.peakBytes);
  into.pauses += q.pauses;
}


/** One heartbeat timer for every open gateway chat (instead of one interval per socket). */
const heartbeat = {
  chats: new Set<GatewayChat>(),
  timer: null as NodeJS.Timeout | null,
  add(chat: GatewayChat): void {
    this.chats.add(chat);
    if (!this.timer) {
      this.timer = setInterval(() => {
        for (const c of this.chats) c.ping();
      }, PING_MS);
      this.timer.unref();
    }
  },
  remove(chat: GatewayChat): void {
    if (!this.chats.delete(chat) || this.chats.size || !this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
  },
};

/**
 * One chat turn over the WebSocket gateway `/ws/mgw/?uid=` (grok-protocol.md §3): session.create,
 * then the conversation item once the session is created and attached, then the response frames
 * of our session until `done` or an error. The user id is looked up first when unknown.
 * Received frames wait in a bounded buffer (GATEWAY_BUFFER); `stats` collects its figures.
 *
 * An iterator object rather than an async generator: an open stream holds this one object (its
 * state in fields, its handlers on the prototype) instead of a suspended generator with its
 * closures — the gateway is what every open chat keeps for minutes.
 */
export function chatGateway(ctx: GrokContext, req: GrokChatRequest, acc: GrokAccountRef, signal: AbortSignal, stats?: GatewayBufferStats): AsyncGenerator<GrokEvent> {
  return new GatewayChat(ctx, req, acc, signal, stats);
}

class GatewayChat implements AsyncGenerator<GrokEvent>, GatewaySocketHandlers, QueueFlow, QueueSink<unknown> {
  private socket: GatewaySocket | null = null;
  private readonly queue = new AsyncQueue<unknown>(this);
  private parser: FrameParser | null = null;
  private readonly initId = `evt_init_${randomUUID()}`;
  private sessionId: string | null = null;
  private created = false;
  private attached = false;
  private sentItem = false;
  /** A `done` or `error` event came (the socket's close is then expected). */
  private finished = false;
  private produced = false;
  private started = false;
  /** Nothing more will be handed out. */
  private ended = false;
  /** The events of the last frame not yet handed out. */
  private events: GrokEvent[] = [];
  private readonly onAbort = () => this.socket?.terminate();
  /** The pending next(), while the queue is empty. */
  private resolve: ((r: IteratorResult<GrokEvent>) => void) | null = null;
  private reject: ((err: unknown) => void) | null = null;

  constructor(
    private readonly ctx: GrokContext,
    private readonly req: GrokChatRequest,
    private readonly acc: GrokAccountRef,
    private readonly signal: AbortSignal,
    private readonly stats: GatewayBufferStats | undefined,
  ) {}

  // ---- QueueFlow: the buffer marks, and pausing the socket's reads ----
  get highWaterItems(): number {
    return GATEWAY_BUFFER.highWaterFrames;
  }
  get highWaterBytes(): number {
    return GATEWAY_BUFFER.highWaterBytes;
  }
  get lowWaterItems(): number {
    return GATEWAY_BUFFER.lowWaterFrames;
  }
  get lowWaterBytes(): number {
    return GATEWAY_BUFFER.lowWaterBytes;
  }
  pause(): void {
    this.socket?.pause();
  }
  resume(): void {
    this.socket?.resume();
  }

  // ---- GatewaySocketHandlers ----
  open(): void {
    this.socket!.send(JSON.stringify(sessionCreateEvent(this.req, this.initId)));
    heartbeat.add(this);
  }
  message(text: string): void {
    try {
      this.queue.push(JSON.parse(text), text.length);
    } catch {
      this.parser!.unknownFrames++;
    }
  }
  unexpectedResponse(status: number, headers: Headers, body: string): void {
    this.queue.fail(new UpstreamError(classifyHttp(status, body, headers)));
  }
  error(err: unknown): void {
    this.queue.fail(err instanceof UpstreamError ? err : new UpstreamError(classifyTransportError(err)));
  }
  close(code: number, reason: string): void {
    if (!this.finished) this.queue.fail(new UpstreamError(failure("network", `grok.com gateway closed the connection (${code}${reason.length ? ` ${reason}` : ""}) before the response completed`)));
    else this.queue.close();
  }

  ping(): void {
    if (this.socket?.isOpen) this.socket.send(JSON.stringify({ event: { type: "ping", event_id: `evt_hb_${Date.now()}` } }));
  }

  // ---- the async iterator ----
  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<GrokEvent>> {
    if (this.started) return this.pull();
    this.started = true;
    const userId = this.acc.userId;
    if (userId) {
      this.connect(userId);
      return this.pull();
    }
    return resolveUserId(this.ctx, this.acc, this.signal).then(
      (id) => {
        this.connect(id);
        return this.pull();
      },
      (err: unknown) => {
        this.ended = true;
        throw err;
      },
    );
  }

  return(): Promise<IteratorResult<GrokEvent>> {
    this.finish();
    return Promise.resolve(EVENTS_DONE);
  }

  throw(err: unknown): Promise<IteratorResult<GrokEvent>> {
    this.finish();
    return Promise.reject(err);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.finish();
  }

  private connect(userId: string): void {
    if (this.ended) return;
    const ctx = this.ctx;
    this.parser = new FrameParser({ filteredTags: filteredTags(ctx) });
    const url = `${ctx.origin.replace(/^http/, "ws")}/ws/mgw/?uid=${encodeURIComponent(userId)}`;
    // `ws` by default; the desktop app injects Chromium's (GrokContext.gatewaySocket, see gateway-socket.ts)
    const openSocket = ctx.gatewaySocket ?? wsGatewaySocket;
    this.socket = openSocket(url, { headers: websocketHeaders(ctx.identity(), this.acc.token, userId), handshakeTimeoutMs: HANDSHAKE_MS, maxPayload: 16 * 1024 * 1024, proxyUrl: ctx.proxyUrl() }, this);
    this.signal.addEventListener("abort", this.onAbort, { once: true });
  }

  private pull(): Promise<IteratorResult<GrokEvent>> {
    const e = this.events.shift();
    if (e) return Promise.resolve(this.emit(e));
    if (this.ended) return Promise.resolve(EVENTS_DONE);
    return new Promise<IteratorResult<GrokEvent>>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.queue.notify(this);
    });
  }

  /** Settles the pending next() with `get()`'s result or error; a frame with nothing to hand out waits for the next. */
  private settle(get: () => IteratorResult<GrokEvent> | null): void {
    for (;;) {
      let r: IteratorResult<GrokEvent> | null;
      try {
        r = get();
      } catch (err) {
        const reject = this.reject!;
        this.resolve = this.reject = null;
        return reject(err);
      }
      if (r) {
        const resolve = this.resolve!;
        this.resolve = this.reject = null;
        return resolve(r);
      }
      // frames already buffered are taken here, in a loop, not through notify() (no recursion)
      if (!this.queue.hasItems) return this.queue.notify(this);
      let frame: unknown;
      this.queue.notify({ onItem: (f) => (frame = f), onEnd: () => {}, onError: () => {} });
      get = () => this.fromFrame(frame);
    }
  }

  /** What one frame gives the pending next(): an event, the end, or null (nothing: wait for the next frame). */
  private fromFrame(frame: unknown): IteratorResult<GrokEvent> | null {
    if (this.ended) return EVENTS_DONE;
    try {
      this.handle(frame);
    } catch (err) {
      return this.onFail(err);
    }
    const e = this.events.shift();
    return e ? this.emit(e) : this.ended ? EVENTS_DONE : null;
  }

  // ---- QueueSink: the frame the pending next() waited for ----
  onItem(frame: unknown): void {
    this.settle(() => this.fromFrame(frame));
  }
  onEnd(): void {
    this.settle(() => {
      this.finish();
      return EVENTS_DONE;
    });
  }
  onError(err: unknown): void {
    this.settle(() => this.onFail(err));
  }

  private emit(e: GrokEvent): IteratorResult<GrokEvent> {
    this.produced = true;
    if (e.type === "done" || e.type === "error") {
      this.finished = true;
      this.finish();
    }
    return { value: e, done: false };
  }

  /** One frame: ours or not, its events (held in `events`), and the conversation item once the session is ready. */
  private handle(frame: unknown): void {
    const f = frame as { session_id?: string; event?: { type?: string; client_event_id?: string } };
    const type = f.event?.type;
    if (type === "session.created") {
      if (f.event?.client_event_id && f.event.client_event_id !== this.initId) return; // not ours
      this.created = true;
      this.sessionId = f.session_id ?? this.sessionId;
    } else if (type === "conversation.attached") {
      this.attached = true;
    } else if (this.sessionId && f.session_id && f.session_id !== this.sessionId) return; // another session's event
    const out = this.parser!.push(frame);
    if (out.length) this.events = this.events.length ? this.events.concat(out) : out;
    if (this.created && this.attached && !this.sentItem && this.sessionId) {
      this.sentItem = true;
      for (const m of itemEvents(this.req, this.sessionId)) this.socket!.send(JSON.stringify(m));
    }
  }

  private onFail(err: unknown): IteratorResult<GrokEvent> {
    const produced = this.produced;
    this.finish();
    if (this.signal.aborted || !produced) throw err;
    return { value: { type: "error", error: err instanceof UpstreamError ? err.failure : classifyTransportError(err) }, done: false };
  }

  /** Ends the chat (idempotent): the buffer dropped, the heartbeat stopped, the socket closed. */
  private finish(): void {
    if (this.ended && !this.socket) return;
    this.ended = true;
    this.events = [];
    const ws = this.socket;
    if (!ws) return;
    this.socket = null;
    this.finished = true;
    record(this.stats, this.queue.stats);
    this.queue.close(); // frames still arriving are dropped, not buffered
    heartbeat.remove(this);
    this.signal.removeEventListener("abort", this.onAbort);
    ws.resume(); // a paused socket would not read grok.com's close frame
    if (ws.isOpen) ws.close(1000);
    else ws.terminate();
    if (this.parser!.unknownFrames) this.ctx.log.debug("gateway had unknown frames", { unknownFrames: this.parser!.unknownFrames });
  }
}
