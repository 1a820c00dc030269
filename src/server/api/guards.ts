import { timingSafeEqual } from "node:crypto";
import type { Context, Next } from "koa";
import { ProxyError } from "../errors.js";
import type { Logger } from "../log.js";
import { isLoopbackHostname, splitHostHeader } from "../net/address-guard.js";
import { isLoopbackOrigin, normalizeOrigin } from "../net/origin.js";

/**
 * Who may call the server, decided before any route runs: the Host header (DNS rebinding), the
 * Origin (hostile pages in the user's browser), the client key and its failure throttle. See
 * docs/security.md for the threat model.
 */

/** The admin API: no CORS grants, same-origin browser requests only. Case-insensitive, as the routers match (`/API/login` is the admin API too). */
export const isAdminPath = (p: string) => {
  const l = p.length >= 4 ? p.slice(0, 5).toLowerCase() : "";
  return l === "/api" || l === "/api/";
};
/** The manager's own pages and files (same-origin by construction; no CORS grants). */
export const isPagePath = (p: string) => {
  const l = p.toLowerCase();
  return l === "/" || l === "/login" || l === "/manage" || l.startsWith("/static/");
};
/** Client routes (/v1/…, their unprefixed twins, /health): CORS for browser-based chat clients. */
export const isClientPath = (p: string) => !isAdminPath(p) && !isPagePath(p);

const hostOfUrl = (url: string): string | null => {
  if (!url.trim()) return null;
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return null;
  }
};

/** True when the server only listens on this machine's loopback. */
export const listensOnLoopback = (listenHost: string) => isLoopbackHostname(listenHost);

/**
 * DNS-rebinding guard for a loopback listener: a web page that rebinds its own name to 127.0.0.1
 * could otherwise drive the local API from the browser. Only `localhost`, `[::1]`, real IPv4
 * literals in 127/8, the listen address itself and the host of `global.base_url` are served.
 * Listening beyond loopback (HOST=0.0.0.0) is a choice to be reached by other names: no check.
 */
export function loopbackHostGuard(listenHost: string, baseUrl: () => string = () => "") {
  const loopback = listensOnLoopback(listenHost);
  const listen = listenHost.includes(":") && !listenHost.startsWith("[") ? `[${listenHost}]` : listenHost.toLowerCase();
  // The verdict depends only on the Host header and base_url: the last pair is remembered (a
  // client sends the same Host every time; parsing it per request showed in the profile).
  let lastRaw: string | null = null;
  let lastBaseUrl = "";
  let lastOk = false;
  return async (ctx: Context, next: Next) => {
    if (loopback) {
      const raw = ctx.get("host");
      const baseText = baseUrl();
      let ok: boolean;
      if (raw === lastRaw && baseText === lastBaseUrl) ok = lastOk;
      else {
        const { host, port } = splitHostHeader(raw);
        const base = hostOfUrl(baseText);
        ok = !raw || isLoopbackHostname(host) || host === listen || (base !== null && (base === host || base === `${host}:${port}`));
        lastRaw = raw;
        lastBaseUrl = baseText;
        lastOk = ok;
      }
      if (!ok) {
        const { host } = splitHostHeader(raw);
        throw new ProxyError(403, "forbidden", `Host "${host.slice(0, 100)}" is not allowed: this server listens on ${listenHost} only. Use HOST=0.0.0.0 to share it on the network, or set global.base_url.`, { retryable: false });
      }
    }
    await next();
  };
}

export interface OriginPolicy {
  /** The configured client API keys (empty: no client auth). */
  keys: () => string[];
  /** `grok.cors_allowed_origins`: comma-separated origins allowed when no key is set. */
  allowedOrigins: () => string;
  /** `global.base_url`: its origin counts as the server's own. */
  baseUrl: () => string;
}

/** May a browser page at `origin` call the client API? (Only asked when no key is configured.) */
function originAllowedWithoutKey(origin: string, policy: OriginPolicy): boolean {
  if (isLoopbackOrigin(origin)) return true;
  const o = normalizeOrigin(origin);
  if (!o) return false;
  return policy.allowedOrigins().split(",").some((e) => normalizeOrigin(e) === o);
}

const EXPOSE = "x-request-id, request-id, retry-after, x-should-retry";
const DEFAULT_ALLOW_HEADERS =
  "authorization, content-type, x-api-key, api-key, anthropic-version, anthropic-beta, anthropic-dangerous-direct-browser-access, x-stainless-arch, x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-retry-count, x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout";

/**
 * CORS for the client routes (api-conformance.md §1.4), narrowed: with a key configured every
 * origin gets `*` (the key is the protection); without one only loopback origins and those in
 * `grok.cors_allowed_origins` get a grant (their own origin, never `*`). The admin API and the
 * manager pages get no CORS headers at all.
 */
export function cors(policy: OriginPolicy) {
  return async (ctx: Context, next: Next) => {
    if (!isClientPath(ctx.path)) return next();
    const origin = ctx.get("origin");
    let grant: string | null = null;
    if (policy.keys().length) grant = "*";
    else if (origin && originAllowedWithoutKey(origin, policy)) grant = origin;
    if (grant) {
      ctx.set("access-control-allow-origin", grant);
      ctx.set("access-control-expose-headers", EXPOSE);
    }
    if (grant !== "*") {
      // what ctx.vary("origin") does on a response without a Vary header yet, without parsing one
      if (ctx.response.get("vary")) ctx.vary("origin");
      else ctx.set("vary", "origin");
    }
    if (ctx.method === "OPTIONS" && (grant || !origin)) {
      ctx.set("access-control-allow-methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD");
      ctx.set("access-control-allow-headers", ctx.get("access-control-request-headers") || DEFAULT_ALLOW_HEADERS);
      ctx.set("access-control-max-age", "86400");
      // Chrome's Private Network Access: a public page calling this loopback server asks first.
      if (grant && ctx.get("access-control-request-private-network") === "true") ctx.set("access-control-allow-private-network", "true");
      ctx.status = 204;
      return;
    }
    await next();
  };
}

/** True for a browser request made by a page of this server's own origin (or by no page at all). */
export function isSameOrigin(ctx: Context, baseUrl: string): boolean {
  const site = ctx.get("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") return false;
  const origin = ctx.get("origin");
  if (!origin) return true;
  if (origin === "null") return false;
  let host: string;
  try {
    host = new URL(origin).host.toLowerCase();
  } catch {
    return false;
  }
  return host === ctx.get("host").toLowerCase() || host === hostOfUrl(baseUrl);
}

/**
 * Refuses browser requests from other sites before any route (and any login attempt) runs:
 * the admin API answers only its own pages; without a client key, the client API answers only
 * loopback origins and the listed ones (with a key, any origin that has the key).
 */
export function originGuard(policy: OriginPolicy) {
  return async (ctx: Context, next: Next) => {
    if (isAdminPath(ctx.path)) {
      if (!isSameOrigin(ctx, policy.baseUrl())) throw new ProxyError(403, "forbidden", "Cross-site requests to the admin API are refused.", { retryable: false });
    } else if (isClientPath(ctx.path) && !policy.keys().length) {
      const origin = ctx.get("origin");
      if (origin ? !originAllowedWithoutKey(origin, policy) : ctx.get("sec-fetch-site") === "cross-site")
        throw new ProxyError(403, "forbidden", "This origin may not call the API while no API key is configured; set an API key or list the origin in grok.cors_allowed_origins.", { retryable: false });
    }
    await next();
  };
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

/**
 * Wrong client keys per client, in one-minute windows. A bucket is the client address plus the
 * page origin (if any), so a hostile page spamming wrong keys throttles itself, not the
 * owner's SDK on the same machine; a per-address total catches origin rotation.
 */
export class KeyFailureThrottle {
  private readonly buckets = new Map<string, { count: number; since: number; logged: boolean }>();
  constructor(
    readonly perBucket = 10,
    readonly perAddress = 60,
    readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  private get(key: string) {
    const t = this.now();
    const b = this.buckets.get(key);
    if (b && t - b.since < this.windowMs) return b;
    return null;
  }

  /** Milliseconds until this client may try again, or 0. */
  blockedFor(ip: string, origin: string): number {
    const t = this.now();
    for (const [key, max] of [[`${ip}|${origin}`, this.perBucket], [`${ip}|*`, this.perAddress]] as const) {
      const b = this.get(key);
      if (b && b.count >= max) return b.since + this.windowMs - t;
    }
    return 0;
  }

  /** Records a failure; returns true the first time a bucket becomes throttled in its window (log it once). */
  fail(ip: string, origin: string): boolean {
    const t = this.now();
    if (this.buckets.size > 10_000) for (const [k, b] of this.buckets) if (t - b.since >= this.windowMs) this.buckets.delete(k);
    let first = false;
    for (const [key, max] of [[`${ip}|${origin}`, this.perBucket], [`${ip}|*`, this.perAddress]] as const) {
      let b = this.get(key);
      if (!b) this.buckets.set(key, (b = { count: 0, since: t, logged: false }));
      b.count++;
      if (b.count >= max && !b.logged) first = b.logged = true;
    }
    return first;
  }

  get size(): number {
    return this.buckets.size;
  }
}

export interface ClientAuthOptions {
  /** True when a key is mandatory even if none is configured (listening on the network, untrusted). */
  keyRequired?: () => boolean;
  throttle?: KeyFailureThrottle;
  log?: Logger;
}

/** Client API auth: when keys are configured, one of them must be presented; wrong keys are throttled per client. */
export function clientAuth(keys: () => string[], opts: ClientAuthOptions = {}) {
  const throttle = opts.throttle ?? new KeyFailureThrottle();
  return async (ctx: Context, next: Next) => {
    const allowed = keys();
    if (!allowed.length && opts.keyRequired?.())
      throw new ProxyError(401, "invalid_api_key", "This server listens on the network and has no API key configured: set GROK2API_API_KEY or grok.api_key (or grok.trusted_network).", { retryable: false });
    if (allowed.length) {
      const ip = ctx.ip;
      const origin = ctx.get("origin").slice(0, 200);
      const wait = throttle.blockedFor(ip, origin);
      if (wait > 0) throw new ProxyError(429, "rate_limited", "Too many requests with a wrong API key; wait and retry.", { retryAfterMs: wait });
      const key = presentedKey(ctx);
      if (!key || !allowed.some((k) => safeEqual(k, key))) {
        if (throttle.fail(ip, origin)) opts.log?.warn("wrong API keys throttled", { ip, origin: origin || null, window_s: throttle.windowMs / 1000 });
        if (!key) throw new ProxyError(401, "invalid_api_key", "Missing API key. Send it as 'Authorization: Bearer <key>', 'x-api-key' or 'api-key'.", { retryable: false });
        throw new ProxyError(401, "invalid_api_key", "Incorrect API key provided.", { retryable: false });
      }
    }
    await next();
  };
}
