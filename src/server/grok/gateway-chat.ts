import type { IncomingMessage } from "node:http";
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import type { GrokEvent } from "../core/events.js";
import { AsyncQueue, type QueueStats } from "./async-queue.js";
import { type GrokChatRequest, itemEvents, sessionCreateEvent } from "./chat-request.js";
import { classifyHttp, classifyTransportError, failure } from "./classify.js";
import { type GrokAccountRef, type GrokContext, filteredTags } from "./context.js";
import { FrameParser } from "./frames.js";
import { websocketHeaders } from "./identity.js";
import { resolveUserId } from "./session.js";
import { wsProxyAgent } from "./transport.js";
import { UpstreamError } from "./upstream-error.js";

const PING_MS = 25_000;
const HANDSHAKE_MS = 20_000;

/**
 * Backpressure for a slow reader: frames received but not yet consumed are buffered up to
 * 256 frames or 1 MiB of frame text; beyond that the WebSocket stops reading its socket (the
 * rest waits in TCP buffers and on grok.com's side) until the reader is down to 64 frames and
 * 256 KiB. The socket read in hand when a mark is crossed is still delivered, so the buffer can
 * exceed the mark by that read's frames (≤ 64 KiB, or a single frame of up to maxPayload).
 */
export const GATEWAY_BUFFER = { highWaterFrames: 256, highWaterBytes: 1024 * 1024, lowWaterFrames: 64, lowWaterBytes: 256 * 1024 } as const;

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

function nodeHeaders(res: IncomingMessage): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
  return h;
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
  const ws = new WebSocket(url, {
    headers: websocketHeaders(ctx.identity(), acc.token, userId),
    handshakeTimeout: HANDSHAKE_MS,
    maxPayload: 16 * 1024 * 1024,
    agent: wsProxyAgent(ctx.proxyUrl()),
    followRedirects: false,
  });
  const queue = new AsyncQueue<unknown>({
    highWaterItems: GATEWAY_BUFFER.highWaterFrames,
    highWaterBytes: GATEWAY_BUFFER.highWaterBytes,
    lowWaterItems: GATEWAY_BUFFER.lowWaterFrames,
    lowWaterBytes: GATEWAY_BUFFER.lowWaterBytes,
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  });
  const parser = new FrameParser({ filteredTags: filteredTags(ctx) });
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
    const text = data.toString();
    try {
      queue.push(JSON.parse(text), text.length);
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
    record(stats, queue.stats);
    queue.close(); // frames still arriving are dropped, not buffered
    if (ping) clearInterval(ping);
    signal.removeEventListener("abort", onAbort);
    ws.resume(); // a paused socket would not read grok.com's close frame
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    else ws.terminate();
    if (parser.unknownFrames) ctx.log.debug("gateway had unknown frames", { unknownFrames: parser.unknownFrames });
  }
}
