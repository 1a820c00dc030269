import type { Context } from "koa";
import { JsonDepthError, MAX_JSON_DEPTH, parseJsonLimited } from "../core/json.js";
import { ProxyError } from "../errors.js";

/**
 * Request bodies: per-route size limits, a cap on how many large bodies are read at once, and
 * Content-Type rules. A web page can send `text/plain`, form and multipart bodies cross-origin
 * without a CORS preflight, so JSON routes accept only JSON media types (or none: some SDKs
 * omit the header, and browsers always send one with a body they let a page write).
 */

/** Chat and messages bodies (inline base64 images make them large). */
export const MAX_BODY = 64 * 1024 * 1024;
/** Admin JSON routes. */
export const ADMIN_JSON_LIMIT = 1024 * 1024;
/** POST /api/login. */
export const LOGIN_LIMIT = 4 * 1024;
/** Bodies above this size take one of LARGE_BODY_SLOTS before they are read. */
export const LARGE_BODY = 1024 * 1024;
export const LARGE_BODY_SLOTS = 4;
/** How long a large body waits for a slot before the request is refused with a 503. */
export const LARGE_BODY_WAIT_MS = 30_000;

/** A counting semaphore whose waiters give up after a timeout or when their client goes away. */
class Slots {
  private used = 0;
  private readonly waiters: Array<() => void> = [];
  constructor(private readonly max: number) {}

  get inUse(): number {
    return this.used;
  }

  acquire(timeoutMs: number, gone: Promise<void>): Promise<boolean> {
    if (this.used < this.max) {
      this.used++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      let settled = false;
      const grant = () => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        this.used++;
        resolve(true);
        return true;
      };
      const giveUp = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const i = this.waiters.indexOf(wake);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      };
      const wake = () => void grant();
      const timer = setTimeout(giveUp, timeoutMs);
      void gone.then(giveUp);
      this.waiters.push(wake);
    });
  }

  release(): void {
    this.used--;
    this.waiters.shift()?.();
  }
}

const largeBodies = new Slots(LARGE_BODY_SLOTS);

/** Large bodies being read right now (for tests and /health). */
export const largeBodiesInFlight = () => largeBodies.inUse;

export interface BodyOptions {
  /** Size limit in bytes. */
  limit?: number;
}

const mib = (n: number) => (n >= 1024 * 1024 ? `${Math.round(n / 1024 / 1024)} MiB` : `${Math.round(n / 1024)} KiB`);

function tooLarge(ctx: Context, limit: number): ProxyError {
  ctx.set("connection", "close"); // do not read the rest of a body we refuse
  return new ProxyError(413, "payload_too_large", `Request body larger than ${mib(limit)}`);
}

/** The media type of the request (`application/json` for `Application/JSON; charset=utf-8`), "" when absent. */
export function mediaType(ctx: Context): string {
  return (ctx.get("content-type").split(";")[0] ?? "").trim().toLowerCase();
}

const isJsonType = (t: string) => t === "application/json" || /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+\+json$/.test(t);

/** 415 unless the request's media type is one of `allowed` (or absent, when `allowMissing`). */
export function requireMediaType(ctx: Context, allowed: (type: string) => boolean, expected: string, allowMissing = true): void {
  const t = mediaType(ctx);
  if (!t ? allowMissing : allowed(t)) return;
  ctx.set("connection", "close");
  throw new ProxyError(415, "unsupported_media_type", t ? `Content-Type ${JSON.stringify(t.slice(0, 100))} is not accepted here; send ${expected}` : `A Content-Type is required here; send ${expected}`, { param: "content-type" });
}

/** Reads the raw body as UTF-8 text within `limit`; bodies over 1 MiB wait for one of a few read slots. */
export async function readText(ctx: Context, opts: number | BodyOptions = {}): Promise<string> {
  const limit = typeof opts === "number" ? opts : (opts.limit ?? MAX_BODY);
  const declared = Number(ctx.get("content-length") || NaN);
  if (declared > limit) throw tooLarge(ctx, limit);
  // A declared small body (the common case: every chat request of an SDK) cannot outgrow its
  // Content-Length (Node's parser stops there), so neither the limit nor a slot can come into
  // play: read it with plain events, without a stream async iterator (profiled: the iterator's
  // set-up alone was most of the body read's cost).
  if (declared <= LARGE_BODY) return readDeclared(ctx);
  const gone = new Promise<void>((resolve) => ctx.req.once("close", () => resolve()));
  let slot = false;
  const takeSlot = async () => {
    if (await largeBodies.acquire(LARGE_BODY_WAIT_MS, gone)) return (slot = true);
    ctx.set("connection", "close");
    throw new ProxyError(503, "server_busy", "Too many large request bodies are being received; retry shortly.", { retryAfterMs: 5_000 });
  };
  try {
    if (declared > LARGE_BODY) await takeSlot();
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of ctx.req) {
        size += (chunk as Buffer).length;
        if (size > limit) throw tooLarge(ctx, limit);
        if (size > LARGE_BODY && !slot) await takeSlot();
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      if (err instanceof ProxyError) throw err;
      ctx.state.clientAborted = true;
      throw clientClosed(err);
    }
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    if (slot) largeBodies.release();
  }
}

function clientClosed(err: unknown): ProxyError {
  return new ProxyError(400, "invalid_request", "The client closed the connection while sending the body", { cause: err });
}

/** A body whose Content-Length is declared (≤ LARGE_BODY), read with 'data'/'end' events; same outcomes as the loop in readText. */
function readDeclared(ctx: Context): Promise<string> {
  const req = ctx.req;
  if (req.readableEnded) return Promise.resolve(""); // already consumed: what an async iterator would yield too
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (err: unknown) => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onClose); // the 'error' listener stays: a late error must not become an uncaught one
      if (err === undefined) return resolve(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8"));
      ctx.state.clientAborted = true;
      reject(clientClosed(err));
    };
    const onData = (chunk: Buffer) => void chunks.push(chunk);
    const onEnd = () => done(undefined);
    const onClose = () => {
      const err = Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
      if (!req.readableEnded) done(err);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", done);
    req.on("close", onClose);
  });
}

/**
 * Reads a JSON body: `application/json` or any `…+json` type (charset allowed), or no
 * Content-Type at all; anything else is a 415. Nesting is capped (MAX_JSON_DEPTH) so a deep
 * document is a 400 naming where, not a stack overflow later. Limit: `opts.limit`, else 1 MiB
 * under /api and 64 MiB elsewhere.
 */
export async function readJson(ctx: Context, opts: number | BodyOptions = {}): Promise<unknown> {
  if (ctx.state.jsonBody !== undefined) return ctx.state.jsonBody;
  requireMediaType(ctx, isJsonType, "application/json");
  const o = typeof opts === "number" ? { limit: opts } : opts;
  const limit = o.limit ?? (ctx.path.startsWith("/api/") ? ADMIN_JSON_LIMIT : MAX_BODY);
  const text = await readText(ctx, { limit });
  if (!text.trim()) throw new ProxyError(400, "invalid_json", "Request body is empty; expected JSON");
  try {
    ctx.state.jsonBody = parseJsonLimited(text, MAX_JSON_DEPTH);
  } catch (err) {
    if (err instanceof JsonDepthError) throw new ProxyError(400, "invalid_value", `Request body nests deeper than ${err.maxDepth} levels${err.path ? ` at ${err.path}` : ""}`, { param: err.path || "body" });
    throw new ProxyError(400, "invalid_json", `Request body is not valid JSON: ${(err as Error).message}`);
  }
  return ctx.state.jsonBody;
}

/** Text bodies (imports: a JSON document or a plain token list): text/*, JSON types, octet-stream or none. */
export async function readPlainText(ctx: Context, opts: number | BodyOptions = {}): Promise<string> {
  requireMediaType(ctx, (t) => t.startsWith("text/") || isJsonType(t) || t === "application/octet-stream", "text/plain or application/json");
  return readText(ctx, opts);
}
