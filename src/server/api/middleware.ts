import { randomUUID, timingSafeEqual } from "node:crypto";
import type { Context, Next } from "koa";
import { ProxyError, toProxyError } from "../errors.js";
import type { Logger } from "../log.js";

export type ErrorRenderer = (err: ProxyError, ctx: Context) => unknown;

export function requestId() {
  return async (ctx: Context, next: Next) => {
    const id = `req_${randomUUID().replace(/-/g, "")}`;
    ctx.state.requestId = id;
    ctx.set("x-request-id", id);
    await next();
  };
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

/**
 * DNS-rebinding guard for a loopback listener: a web page that rebinds its own name to 127.0.0.1
 * could otherwise drive the local API (and spend the user's quota) from the browser. When the
 * server listens on a loopback address, only requests whose Host is a loopback name are served.
 */
export function loopbackHostGuard(listenHost: string) {
  const loopback = LOOPBACK_HOSTS.has(listenHost) || listenHost.startsWith("127.");
  return async (ctx: Context, next: Next) => {
    if (loopback) {
      const host = (ctx.get("host") || "").replace(/:\d+$/, "").toLowerCase();
      if (host && !LOOPBACK_HOSTS.has(host) && !host.startsWith("127.") && host !== listenHost)
        throw new ProxyError(403, "forbidden", `Host "${host}" is not allowed: this server listens on ${listenHost} only. Use HOST=0.0.0.0 to share it on the network.`, { retryable: false });
    }
    await next();
  };
}

/** Permissive CORS for browser clients; echoes the preflight's requested headers (api-conformance.md §1.4). */
export function cors() {
  return async (ctx: Context, next: Next) => {
    ctx.set("access-control-allow-origin", "*");
    ctx.set("access-control-expose-headers", "x-request-id, request-id, retry-after, x-should-retry");
    if (ctx.method === "OPTIONS") {
      const requested = ctx.get("access-control-request-headers");
      ctx.set("access-control-allow-methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD");
      ctx.set(
        "access-control-allow-headers",
        requested || "authorization, content-type, x-api-key, api-key, anthropic-version, anthropic-beta, anthropic-dangerous-direct-browser-access, x-stainless-arch, x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-retry-count, x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout",
      );
      ctx.set("access-control-max-age", "86400");
      ctx.status = 204;
      return;
    }
    await next();
  };
}

/** Renders any thrown error in the caller's protocol shape, with honest status and retry headers. */
export function errors(log: Logger, renderFor: (ctx: Context) => ErrorRenderer) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new ProxyError(404, "not_found", `Unknown route: ${ctx.method} ${ctx.path}`);
    } catch (raw) {
      const err = toProxyError(raw);
      if (err.code === "internal_error") log.error("request failed", { requestId: ctx.state.requestId, path: ctx.path, code: err.code, message: err.message, cause: (err.cause as Error | undefined)?.message });
      else log[err.status >= 500 || err.status === 429 ? "warn" : "debug"]("request rejected", { requestId: ctx.state.requestId, path: ctx.path, status: err.status, code: err.code, message: err.message });
      if (ctx.headerSent || ctx.respond === false) return; // streaming handlers report in-band
      ctx.status = err.status;
      if (err.retryAfterMs !== null) ctx.set("retry-after", String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
      if (err.retryable === false) ctx.set("x-should-retry", "false");
      ctx.type = "application/json";
      ctx.body = renderFor(ctx)(err, ctx);
    }
  };
}

const MAX_BODY = 64 * 1024 * 1024;

/** Reads the raw body as UTF-8 text (imports: JSON documents or plain token lists). */
export async function readText(ctx: Context, limit = MAX_BODY): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ProxyError(413, "payload_too_large", `Request body larger than ${Math.round(limit / 1024 / 1024)} MiB`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Reads a JSON body whatever the Content-Type says (clients forget it or add charset). */
export async function readJson(ctx: Context, limit = MAX_BODY): Promise<unknown> {
  if (ctx.state.jsonBody !== undefined) return ctx.state.jsonBody;
  const text = await readText(ctx, limit);
  if (!text.trim()) throw new ProxyError(400, "invalid_json", "Request body is empty; expected JSON");
  try {
    ctx.state.jsonBody = JSON.parse(text);
  } catch (err) {
    throw new ProxyError(400, "invalid_json", `Request body is not valid JSON: ${(err as Error).message}`);
  }
  return ctx.state.jsonBody;
}

/** The client's key from `Authorization: Bearer`, `x-api-key` or `api-key`. */
export function presentedKey(ctx: Context): string | null {
  const auth = ctx.get("authorization");
  if (/^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, "").trim();
  return ctx.get("x-api-key").trim() || ctx.get("api-key").trim() || null;
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Client API auth: when keys are configured, one of them must be presented. */
export function clientAuth(keys: () => string[]) {
  return async (ctx: Context, next: Next) => {
    const allowed = keys();
    if (allowed.length) {
      const key = presentedKey(ctx);
      if (!key) throw new ProxyError(401, "invalid_api_key", "Missing API key. Send it as 'Authorization: Bearer <key>', 'x-api-key' or 'api-key'.", { retryable: false });
      if (!allowed.some((k) => safeEqual(k, key))) throw new ProxyError(401, "invalid_api_key", "Incorrect API key provided.", { retryable: false });
    }
    await next();
  };
}
