/** Raw HTTP / WebSocket clients used by the fake's own tests (no proxy code involved). */
import { randomBytes, randomUUID } from "node:crypto";
import { connect } from "node:net";
import WebSocket from "ws";
import type { FakeAccount, FakeGrok } from "./index.js";

export const UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/146.0.0.0 Safari/537.36";

export const statsig70 = () => randomBytes(70).toString("base64");
export const statsigX1 = () => Buffer.from("x1:TypeError: Cannot read properties of undefined (reading 'abcdefghij')").toString("base64");
export const statsigE = () => Buffer.from("e:TypeError: Cannot read properties of undefined (reading 'childNodes')").toString("base64");

export function cookieFor(acc: FakeAccount, extra = ""): string {
  return `sso=${acc.sso}; sso-rw=${acc.sso}${extra}`;
}

export function restHeaders(fake: FakeGrok, acc: FakeAccount, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const h: Record<string, string | undefined> = {
    "content-type": "application/json",
    accept: "*/*",
    "accept-language": "zh-CN,zh;q=0.9,en;q=0.8",
    "user-agent": UA,
    cookie: cookieFor(acc),
    "x-xai-request-id": randomUUID(),
    "x-statsig-id": statsig70(),
    origin: fake.url,
    referer: `${fake.url}/`,
    ...extra,
  };
  return Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

export function postJson(fake: FakeGrok, acc: FakeAccount, path: string, body: unknown, extra: Record<string, string | undefined> = {}): Promise<Response> {
  return fetch(fake.url + path, { method: "POST", headers: restHeaders(fake, acc, extra), body: typeof body === "string" ? body : JSON.stringify(body) });
}

export function chatBody(message: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    collectionIds: [], disableMemory: true, disableSearch: false, enableImageGeneration: true, enableImageStreaming: true,
    enableSideBySide: true, fileAttachments: [], forceConcise: false, imageAttachments: [], imageGenerationCount: 2,
    isAsyncChat: false, message, modeId: "fast", responseMetadata: {}, returnImageBytes: false, sendFinalMetadata: true, temporary: true,
    ...extra,
  };
}

export function newChat(fake: FakeGrok, acc: FakeAccount, message = "Say hi", extra: Record<string, unknown> = {}, headers: Record<string, string | undefined> = {}): Promise<Response> {
  return postJson(fake, acc, "/rest/app-chat/conversations/new", chatBody(message, extra), headers);
}

/** Scans balanced top-level {…} objects (respecting strings/escapes); ignores `data:` prefixes, [DONE], blank lines. */
export function parseObjects(text: string): any[] {
  const out: any[] = [];
  let depth = 0;
  let start = -1;
  let inStr = false;
  let esc = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      if (esc) esc = false;
      else if (c === "\\") esc = true;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"' && depth > 0) inStr = true;
    else if (c === "{") {
      if (depth === 0) start = i;
      depth++;
    } else if (c === "}" && depth > 0) {
      depth--;
      if (depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return out;
}

export async function readAll(res: Response): Promise<{ text: string; chunks: Uint8Array[] }> {
  const chunks: Uint8Array[] = [];
  const reader = res.body!.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  return { text: Buffer.concat(chunks).toString("utf8"), chunks };
}

export async function frames(res: Response): Promise<any[]> {
  return parseObjects((await readAll(res)).text);
}

/** Replaces UUIDs with their first-seen index so streams can be compared with fixtures. */
export function normalizeIds(value: unknown): unknown {
  const seen = new Map<string, string>();
  const text = JSON.stringify(value).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (m) => {
    if (!seen.has(m)) seen.set(m, `<id${seen.size}>`);
    return seen.get(m)!;
  });
  return JSON.parse(text);
}

// ---------- WebSocket ----------

export class WsClient {
  readonly messages: any[] = [];
  closeCode?: number;
  private waiters: Array<() => void> = [];
  readonly closed: Promise<number>;

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      this.messages.push(JSON.parse(data.toString()));
      this.wake();
    });
    this.closed = new Promise((resolve) => ws.on("close", (code) => {
      this.closeCode = code;
      this.wake();
      resolve(code);
    }));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(obj: unknown): void {
    this.ws.send(JSON.stringify(obj));
  }

  /** Waits until pred matches a received message (searching from index `from`). */
  async waitFor(pred: (m: any) => boolean, timeoutMs = 3000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const hit = this.messages.find(pred);
      if (hit) return hit;
      if (this.closeCode !== undefined) throw new Error(`socket closed (${this.closeCode}) before the expected message; got ${JSON.stringify(this.messages.map((m) => m.event?.type ?? m.type))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout; got ${JSON.stringify(this.messages.map((m) => m.event?.type ?? m.type))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  waitType(type: string, timeoutMs?: number): Promise<any> {
    return this.waitFor((m) => m.event?.type === type || m.type === type, timeoutMs);
  }

  close(): void {
    this.ws.close();
  }
}

export interface WsOptions {
  headers?: Record<string, string | undefined>;
  uid?: string;
  path?: string;
  protocols?: string[];
}

export function wsHeaders(fake: FakeGrok, acc: FakeAccount, withUid: boolean, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const h: Record<string, string | undefined> = {
    origin: fake.url,
    "user-agent": UA,
    "accept-language": "zh-CN,zh;q=0.9,en;q=0.8",
    "cache-control": "no-cache",
    pragma: "no-cache",
    cookie: cookieFor(acc, withUid ? `; x-userid=${acc.userId}` : ""),
    ...extra,
  };
  return Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

/** Opens /ws/mgw/?uid= (or another path); resolves with the client or rejects with the HTTP status. */
export function openWs(fake: FakeGrok, acc: FakeAccount, opts: WsOptions = {}): Promise<WsClient> {
  const path = opts.path ?? `/ws/mgw/?uid=${encodeURIComponent(opts.uid ?? acc.userId)}`;
  const isGateway = path.startsWith("/ws/mgw/");
  const ws = new WebSocket(fake.url.replace(/^http/, "ws") + path, opts.protocols ?? [], { headers: wsHeaders(fake, acc, isGateway, opts.headers) });
  const client = new WsClient(ws);
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(client));
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => reject(Object.assign(new Error(`handshake ${res.statusCode}`), { status: res.statusCode, headers: res.headers, body })));
    });
    ws.once("error", reject);
  });
}

export function sessionCreate(model = "fast", extra: Record<string, unknown> = {}, envelope: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...envelope,
    event: {
      type: "session.create",
      event_id: `evt_init_${randomUUID()}`,
      session: {
        model,
        x_grok: {
          protocol_capabilities: ["conversation_attached", "custom_methods_v1"], use_chunk: true, enable_side_by_side: true, force_side_by_side: false,
          enable_image_generation: true, image_generation_count: 2, disable_text_follow_ups: false, disable_artifact: true, force_concise: false,
          keep_context: false, is_temporary: true, disable_memory: true, ...extra,
        },
      },
    },
  };
}

export function itemCreate(sessionId: string, text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    session_id: sessionId,
    event: {
      type: "conversation.item.create",
      event_id: `evt_msg_${Date.now()}`,
      item: { type: "message", role: "user", x_grok: { client_message_id: randomUUID(), input_chunks: [{ text: { text } }] } },
      ...extra,
    },
  };
}

export function responseCreate(sessionId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { session_id: sessionId, event: { type: "response.create", event_id: `evt_resp_${Date.now()}`, ...extra } };
}

/** One full chunk-mode turn; returns the server events after response.create up to done/error. */
export async function gatewayTurn(fake: FakeGrok, acc: FakeAccount, text = "[user]\nSay hi", model = "fast"): Promise<{ client: WsClient; sessionId: string; events: any[] }> {
  const c = await openWs(fake, acc);
  c.send(sessionCreate(model));
  const created = await c.waitType("session.created");
  const sessionId = created.session_id as string;
  await c.waitType("conversation.attached");
  c.send(itemCreate(sessionId, text));
  c.send(responseCreate(sessionId));
  await c.waitFor((m) => m.event?.type === "response.done" || m.event?.type === "error");
  const start = c.messages.findIndex((m) => m.event?.type !== "session.created" && m.event?.type !== "conversation.attached");
  return { client: c, sessionId, events: c.messages.slice(start) };
}

// ---------- raw WebSocket frames (to observe fragmentation) ----------

export interface RawFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** Minimal RFC 6455 client over net: returns the handshake status line and decoded server frames. */
export function rawWebSocket(fake: FakeGrok, path: string, headers: Record<string, string>): Promise<{ send(obj: unknown): void; frames: RawFrame[]; status: string; waitFrames(pred: (f: RawFrame[]) => boolean, ms?: number): Promise<void>; close(): void }> {
  const u = new URL(fake.url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname);
    const key = randomBytes(16).toString("base64");
    let buf = Buffer.alloc(0);
    let handshakeDone = false;
    const frames: RawFrame[] = [];
    let status = "";
    const listeners: Array<() => void> = [];
    sock.on("connect", () => {
      const lines = [`GET ${path} HTTP/1.1`, `Host: ${u.host}`, "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Key: ${key}`, "Sec-WebSocket-Version: 13"];
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      sock.write(lines.join("\r\n") + "\r\n\r\n");
    });
    const api = {
      frames,
      get status() {
        return status;
      },
      send(obj: unknown) {
        const payload = Buffer.from(JSON.stringify(obj));
        const mask = randomBytes(4);
        const len = payload.length;
        const head = len < 126 ? Buffer.from([0x81, 0x80 | len]) : Buffer.from([0x81, 0x80 | 126, len >> 8, len & 0xff]);
        const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
        sock.write(Buffer.concat([head, mask, masked]));
      },
      waitFrames(pred: (f: RawFrame[]) => boolean, ms = 3000) {
        return new Promise<void>((res, rej) => {
          const t = setTimeout(() => rej(new Error("raw ws timeout")), ms);
          const check = () => {
            if (pred(frames)) {
              clearTimeout(t);
              res();
            } else listeners.push(check);
          };
          check();
        });
      },
      close() {
        sock.destroy();
      },
    };
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!handshakeDone) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        status = buf.subarray(0, buf.indexOf("\r\n")).toString();
        buf = buf.subarray(end + 4);
        handshakeDone = true;
        if (!status.includes(" 101 ")) return reject(new Error(status));
        resolve(api);
      }
      while (buf.length >= 2) {
        let len = buf[1]! & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + len) return;
        frames.push({ fin: (buf[0]! & 0x80) !== 0, opcode: buf[0]! & 0x0f, payload: Buffer.from(buf.subarray(off, off + len)) });
        buf = buf.subarray(off + len);
      }
      const ls = listeners.splice(0);
      for (const l of ls) l();
    });
    sock.on("error", reject);
  });
}
