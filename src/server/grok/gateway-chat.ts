import type { IncomingMessage } from "node:http";
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import type { GrokEvent } from "../core/events.js";
import { AsyncQueue } from "./async-queue.js";
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

function nodeHeaders(res: IncomingMessage): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
  return h;
}

/**
 * One chat turn over the WebSocket gateway `/ws/mgw/?uid=` (grok-protocol.md §3): session.create,
 * then the conversation item once the session is created and attached, then the response frames
 * of our session until `done` or an error. The user id is looked up first when unknown.
 */
export async function* chatGateway(ctx: GrokContext, req: GrokChatRequest, acc: GrokAccountRef, signal: AbortSignal): AsyncGenerator<GrokEvent> {
  const userId = acc.userId ?? (await resolveUserId(ctx, acc, signal));
  const wsOrigin = ctx.origin.replace(/^http/, "ws");
  const url = `${wsOrigin}/ws/mgw/?uid=${encodeURIComponent(userId)}`;
  const queue = new AsyncQueue<unknown>();
  const ws = new WebSocket(url, {
    headers: websocketHeaders(ctx.identity(), acc.token, userId),
    handshakeTimeout: HANDSHAKE_MS,
    maxPayload: 16 * 1024 * 1024,
    agent: wsProxyAgent(ctx.proxyUrl()),
    followRedirects: false,
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
    if (parser.unknownFrames) ctx.log.debug("gateway had unknown frames", { unknownFrames: parser.unknownFrames });
  }
}
