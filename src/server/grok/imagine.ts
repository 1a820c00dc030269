import type { IncomingMessage } from "node:http";
import { randomUUID } from "node:crypto";
import type { GrokEvent } from "../core/events.js";
import { AsyncQueue } from "./async-queue.js";
import { classifyHttp, classifyInStream, classifyTransportError, failure } from "./classify.js";
import type { GrokAccountRef, GrokContext } from "./context.js";
import { websocketHeaders } from "./identity.js";
import { loadWs } from "./gateway-socket.js";
import { wsProxyAgent } from "./transport.js";
import { UpstreamError } from "./upstream-error.js";

/**
 * One round on the Imagine WebSocket `/ws/imagine/listen` (grok-protocol.md §7.3): a reset and
 * a request message, then `json` (start_stage / completed) and `image` (preview / final) frames
 * keyed by image id, possibly out of order. Each slot becomes one `image` event once it is
 * resolved: final (a final image and its `completed` frame, the base64 blob preferred as a
 * data: URL) or moderated. An `error` frame fails the round (rate limits classified as such).
 * The round ends when every announced slot is resolved and no new one arrives for a moment, or
 * when the server closes the socket.
 */

export const IMAGINE_ASPECT_RATIOS = ["auto", "1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "2:1", "1:2", "19.5:9", "9:19.5", "20:9", "9:20"] as const;
export type ImagineAspectRatio = (typeof IMAGINE_ASPECT_RATIOS)[number];

export interface ImagineRequest {
  prompt: string;
  /** 1–10 (`num_generations`). */
  n: number;
  aspectRatio: ImagineAspectRatio;
  /** "Image 2.0" (`enable_pro`). */
  pro: boolean;
}

const HANDSHAKE_MS = 15_000;
/** After every announced slot is resolved, how long to wait for more before ending the round. */
export const IMAGINE_SETTLE_MS = 1_500;

interface Slot {
  order: number;
  completed: boolean;
  moderated: boolean;
  final: { ref: string } | null;
  resolved: boolean;
  progress: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);
const str = (v: unknown) => (typeof v === "string" && v ? v : null);
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);

function idOf(f: Obj): string | null {
  const id = str(f.image_id) ?? str(f.job_id) ?? str(f.id);
  if (id) return id;
  const url = str(f.url);
  return url ? (/\/images\/([^/.?]+)\.[a-z0-9]+(?:\?|$)/i.exec(url)?.[1] ?? null) : null;
}

function orderOf(f: Obj): number | null {
  return num(f.order) ?? num(f.grid_index) ?? num(f.side_by_side_index);
}

/** The image bytes of a frame as a reference: the blob as a data: URL (preferred), else the URL. */
function refOf(f: Obj): string | null {
  const blob = str(f.blob);
  const url = str(f.url);
  if (blob) {
    const ext = url ? /\.([a-z0-9]+)(?:\?|$)/i.exec(url)?.[1]?.toLowerCase() : null;
    const mime = ext === "png" ? "image/png" : ext === "webp" ? "image/webp" : "image/jpeg";
    return `data:${mime};base64,${blob}`;
  }
  return url;
}

export function imagineMessages(req: ImagineRequest, now = Date.now()): unknown[] {
  return [
    { type: "conversation.item.create", timestamp: now, item: { type: "message", content: [{ type: "reset" }] } },
    {
      type: "conversation.item.create",
      timestamp: now + 1,
      item: {
        type: "message",
        content: [
          {
            requestId: randomUUID(),
            text: req.prompt,
            type: "input_text",
            properties: {
              section_count: 0,
              is_kids_mode: false,
              enable_nsfw: false,
              skip_upsampler: false,
              enable_side_by_side: true,
              is_initial: false,
              aspect_ratio: req.aspectRatio,
              enable_pro: req.pro,
              num_generations: req.n,
            },
          },
        ],
      },
    },
  ];
}

function nodeHeaders(res: IncomingMessage): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
  return h;
}

export async function* imagineRound(ctx: GrokContext, acc: GrokAccountRef, req: ImagineRequest, signal: AbortSignal, opts: { settleMs?: number } = {}): AsyncGenerator<GrokEvent> {
  const settleMs = opts.settleMs ?? IMAGINE_SETTLE_MS;
  const url = `${ctx.origin.replace(/^http/, "ws")}/ws/imagine/listen`;
  const WebSocket = loadWs(); // loaded on first use, not at start-up
  const ws = new WebSocket(url, {
    headers: websocketHeaders(ctx.identity(), acc.token, null),
    handshakeTimeout: HANDSHAKE_MS,
    maxPayload: 64 * 1024 * 1024,
    agent: wsProxyAgent(ctx.proxyUrl()),
    followRedirects: false,
  });
  const queue = new AsyncQueue<unknown>({ highWaterItems: 256, highWaterBytes: 256 * 1024 * 1024, lowWaterItems: 64, lowWaterBytes: 64 * 1024 * 1024, pause: () => ws.pause(), resume: () => ws.resume() });
  const SETTLED = Symbol("settled");
  let settleTimer: NodeJS.Timeout | null = null;
  const onAbort = () => ws.terminate();
  signal.addEventListener("abort", onAbort, { once: true });
  let refused = false;
  ws.on("unexpected-response", (_r, res) => {
    refused = true;
    const parts: Buffer[] = [];
    res.on("data", (c: Buffer) => parts.push(c));
    res.on("end", () => queue.fail(new UpstreamError(classifyHttp(res.statusCode ?? 0, Buffer.concat(parts).toString("utf8"), nodeHeaders(res)))));
    res.on("error", (err) => queue.fail(new UpstreamError(classifyTransportError(err))));
  });
  ws.on("open", () => {
    for (const m of imagineMessages(req)) ws.send(JSON.stringify(m));
  });
  ws.on("message", (data, isBinary) => {
    if (isBinary) return;
    const text = data.toString();
    try {
      queue.push(JSON.parse(text), text.length);
    } catch {
      /* not JSON: ignored */
    }
  });
  ws.on("error", (err) => queue.fail(err instanceof UpstreamError ? err : new UpstreamError(classifyTransportError(err))));
  ws.on("close", () => {
    if (!refused) queue.close(); // a refused handshake fails the queue once its body is read
  });

  const slots = new Map<string, Slot>();
  const slot = (id: string, order: number | null) => {
    let s = slots.get(id);
    if (!s) slots.set(id, (s = { order: order ?? slots.size, completed: false, moderated: false, final: null, resolved: false, progress: 0 }));
    return s;
  };
  const allResolved = () => slots.size > 0 && [...slots.values()].every((s) => s.resolved);
  let produced = false;
  try {
    for await (const item of queue) {
      if (item === SETTLED) {
        if (allResolved()) break;
        continue;
      }
      if (!isObj(item)) continue;
      const type = item.type;
      if (type === "error") {
        const f = classifyInStream(str(item.err_code), str(item.err_msg) ?? "Imagine round failed");
        yield { type: "error", error: f.kind === "upstream_error" ? failure("upstream_error", `Imagine failed: ${f.message}`) : f };
        return;
      }
      const id = idOf(item);
      if (!id) continue;
      const s = slot(id, orderOf(item));
      if (type === "json") {
        if (item.current_status === "completed") {
          s.completed = true;
          if (item.moderated === true) s.moderated = true;
        }
      } else if (type === "image") {
        const pct = num(item.percentage_complete) ?? 0;
        const ref = refOf(item);
        s.progress = Math.max(s.progress, pct);
        if (ref && (pct >= 100 || s.completed)) s.final = { ref };
        else if (!s.resolved) yield { type: "image", id, url: null, progress: pct, moderated: false, final: false, errorCode: null };
      }
      if (!s.resolved && s.completed && (s.moderated || s.final)) {
        s.resolved = true;
        produced = true;
        yield s.moderated
          ? { type: "image", id, url: null, progress: 100, moderated: true, final: false, errorCode: null }
          : { type: "image", id, url: s.final!.ref, progress: 100, moderated: false, final: true, errorCode: null };
      }
      if (allResolved() && slots.size >= req.n) break;
      if (settleTimer) clearTimeout(settleTimer);
      settleTimer = allResolved() ? setTimeout(() => queue.push(SETTLED, 0), settleMs) : null;
    }
  } catch (err) {
    if (signal.aborted) throw err;
    if (!produced) throw err;
    yield { type: "error", error: err instanceof UpstreamError ? err.failure : classifyTransportError(err) };
    return;
  } finally {
    if (settleTimer) clearTimeout(settleTimer);
    queue.close();
    signal.removeEventListener("abort", onAbort);
    ws.resume();
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    else ws.terminate();
  }
  if (signal.aborted) return;
  // Closed by the server with slots outstanding: their last final blobs count (late frames, §7.3).
  for (const [id, s] of slots) {
    if (s.resolved || s.moderated) continue;
    if (s.final) yield { type: "image", id, url: s.final.ref, progress: 100, moderated: false, final: true, errorCode: null };
  }
  yield { type: "done", responseId: null, status: "completed" };
}
