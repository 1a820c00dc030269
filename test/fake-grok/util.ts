import { createHmac, randomBytes, randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";

export const UUID_V4_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const ANY_UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

export function uuid(): string {
  return randomUUID();
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

/** An HS256 JWT whose payload is {"session_id":"<uuid>"}, like the grok.com sso cookie. */
export function makeSsoJwt(): string {
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = b64url(JSON.stringify({ session_id: uuid() }));
  const sig = createHmac("sha256", randomBytes(32)).update(`${header}.${payload}`).digest();
  return `${header}.${payload}.${b64url(sig)}`;
}

/** Parses a Cookie header; first occurrence of a name wins (names kept as sent). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name && !(name in out)) out[name] = value;
  }
  return out;
}

export function flatHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

export function queryOf(url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (!(k in out)) out[k] = v;
  return out;
}

export function readBody(req: IncomingMessage, limit = 80 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export function isDebug(): boolean {
  return process.env.FAKE_GROK_DEBUG === "1";
}

export function debug(...args: unknown[]): void {
  if (isDebug()) console.debug("[fake-grok]", ...args);
}

/** RFC 3339 with nanoseconds, like grok's nextAvailableAt ("2026-08-18T04:47:49.902572219Z"). */
export function isoNanos(ms: number): string {
  const base = new Date(ms).toISOString(); // 2026-08-18T04:47:49.902Z
  const extra = String(Math.floor((ms % 1) * 1e6)).padStart(6, "0");
  return base.replace(/\.(\d{3})Z$/, (_m, d: string) => `.${d}${extra}Z`);
}

/** createTime style of result.conversation ("2026-03-14T09:12:31.482113Z"). */
export function isoMicros(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_m, d: string) => `.${d}000Z`);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Strict base64 (padded or unpadded, standard or url alphabet). Returns undefined if not base64. */
export function decodeBase64(value: string): Buffer | undefined {
  const v = value.trim();
  if (!v || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(v)) return undefined;
  const unpadded = v.replace(/=+$/, "");
  if (unpadded.length % 4 === 1) return undefined;
  return Buffer.from(unpadded.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

/** Tracks timers so close() leaves nothing running; sleep() resolves false when cancelled. */
export class Timers {
  private readonly pending = new Map<NodeJS.Timeout, () => void>();
  private closed = false;

  sleep(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.pending.delete(t);
        resolve(true);
      }, Math.max(0, ms));
      this.pending.set(t, () => resolve(false));
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  clearAll(): void {
    this.closed = true;
    for (const [t, cancel] of this.pending) {
      clearTimeout(t);
      cancel();
    }
    this.pending.clear();
  }
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}
