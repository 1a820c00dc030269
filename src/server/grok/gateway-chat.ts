import { randomUUID } from "node:crypto";
import type { GrokEvent } from "../core/events.js";
import { AsyncQueue, type QueueStats } from "./async-queue.js";
import { type GrokChatRequest, itemEvents, sessionCreateEvent } from "./chat-request.js";
import { classifyHttp, classifyTransportError, failure } from "./classify.js";
import { type GrokAccountRef, type GrokContext, filteredTags } from "./context.js";
import { FrameParser } from "./frames.js";
import { type GatewaySocket, wsGatewaySocket } from "./gateway-socket.js";
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

/**
 * One chat turn over the WebSocket gateway `/ws/mgw/?uid=` (grok-protocol.md §3): session.create,
 * then the conversation item once the session is created and attached, then the response frames
 * of our session until `done` or an error. The user id is looked up first when unknown.
 * Received frames wait in a bounded buffer (GATEWAY_BUFFER); `stats` collects its figures.
 */
export async function* chatGateway(ctx: GrokContext, req: GrokChatRequest, acc: GrokAccountRef, signal: AbortSignal, stats?: GatewayBufferStats): AsyncGenerator<GrokEvent> {
  const userId = acc.userId ?? (await resolveUserId(ctx, acc, signal));
  const wsOrigin = ctx.origin.replace(/^http/, "ws");
  const url = `${wsOrigin}/ws/mgw/?uid=${encodeURIComponent(userId)}`;
  let socket: GatewaySocket | null = null; // opened below, once the handlers' state exists
  const queue = new AsyncQueue<unknown>({
    highWaterItems: GATEWAY_BUFFER.highWaterFrames,
    highWaterBytes: GATEWAY_BUFFER.highWaterBytes,
    lowWaterItems: GATEWAY_BUFFER.lowWaterFrames,
    lowWaterBytes: GATEWAY_BUFFER.lowWaterBytes,
    pause: () => socket?.pause(),
    resume: () => socket?.resume(),
  });
  const parser = new FrameParser({ filteredTags: filteredTags(ctx) });
  const initId = `evt_init_${randomUUID()}`;
  let sessionId: string | null = null;
  let created = false;
  let attached = false;
  let sentItem = false;
  let finished = false;
  let ping: NodeJS.Timeout | null = null;
  // `ws` by default; the desktop app injects Chromium's (GrokContext.gatewaySocket, see gateway-socket.ts)
  const openSocket = ctx.gatewaySocket ?? wsGatewaySocket;
  const ws: GatewaySocket = openSocket(url, { headers: websocketHeaders(ctx.identity(), acc.token, userId), handshakeTimeoutMs: HANDSHAKE_MS, maxPayload: 16 * 1024 * 1024, proxyUrl: ctx.proxyUrl() }, {
    unexpectedResponse: (status, headers, body) => queue.fail(new UpstreamError(classifyHttp(status, body, headers))),
    open: () => {
      ws.send(JSON.stringify(sessionCreateEvent(req, initId)));
      ping = setInterval(() => {
        if (ws.isOpen) ws.send(JSON.stringify({ event: { type: "ping", event_id: `evt_hb_${Date.now()}` } }));
      }, PING_MS);
    },
    message: (text) => {
      try {
        queue.push(JSON.parse(text), text.length);
      } catch {
        parser.unknownFrames++;
      }
    },
    error: (err) => queue.fail(err instanceof UpstreamError ? err : new UpstreamError(classifyTransportError(err))),
    close: (code, reason) => {
      if (!finished) queue.fail(new UpstreamError(failure("network", `grok.com gateway closed the connection (${code}${reason.length ? ` ${reason}` : ""}) before the response completed`)));
      else queue.close();
    },
  });
  socket = ws;
  const onAbort = () => ws.terminate();
  signal.addEventListener("abort", onAbort, { once: true });

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
    record(stats, queue.stats);
    queue.close(); // frames still arriving are dropped, not buffered
    if (ping) clearInterval(ping);
    signal.removeEventListener("abort", onAbort);
    ws.resume(); // a paused socket would not read grok.com's close frame
    if (ws.isOpen) ws.close(1000);
    else ws.terminate();
    if (parser.unknownFrames) ctx.log.debug("gateway had unknown frames", { unknownFrames: parser.unknownFrames });
  }
}
