import { randomUUID } from "node:crypto";

/**
 * Browser identity sent upstream: cookies (§2.1), user agent and client hints that agree with it
 * (§2.4), and the header sets of §2.3. Pure functions; the transport adds nothing that contradicts them.
 */

const CF_COOKIE = /^(cf_clearance|__cf_bm|_cfuvid|cf_chl_.*)$/;

/**
 * The Cloudflare cookies to send, from the `cf_clearance` setting: a bare clearance value, or a
 * cookie string (`cf_clearance=…; __cf_bm=…`) filtered to the allow-list (names lower-cased,
 * first occurrence wins, values without control characters).
 */
export function cloudflareCookies(setting: string): Array<[string, string]> {
  const s = (setting ?? "").trim();
  if (!s) return [];
  if (!s.includes("=")) return [["cf_clearance", s.replace(/[\x00-\x1f\x7f]/g, "")]];
  const seen = new Map<string, string>();
  for (const part of s.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim().replace(/[\x00-\x1f\x7f]/g, "");
    if (CF_COOKIE.test(name) && !seen.has(name) && value) seen.set(name, value);
  }
  return [...seen];
}

export function cookieHeader(sso: string, opts: { cfClearance?: string; userId?: string | null } = {}): string {
  const parts = [`sso=${sso}`, `sso-rw=${sso}`];
  for (const [k, v] of cloudflareCookies(opts.cfClearance ?? "")) parts.push(`${k}=${v}`);
  if (opts.userId) parts.push(`x-userid=${opts.userId}`);
  return parts.join("; ");
}

let hintsOf: { userAgent: string; hints: Readonly<Record<string, string>> } | null = null;

/** Client hints matching a Chromium user agent; none for other browsers. (The last user agent's are remembered: every upstream request asks.) */
export function clientHints(userAgent: string): Record<string, string> {
  if (hintsOf?.userAgent !== userAgent) hintsOf = { userAgent, hints: Object.freeze(computeClientHints(userAgent)) };
  return hintsOf.hints as Record<string, string>;
}

function computeClientHints(userAgent: string): Record<string, string> {
  const m = /(?:Chrome|Chromium)\/(\d+)/.exec(userAgent);
  if (!m || /Firefox\//.test(userAgent)) return {};
  const major = m[1];
  const platform = /Windows/.test(userAgent) ? "Windows" : /Mac OS X|Macintosh/.test(userAgent) ? "macOS" : /Android/.test(userAgent) ? "Android" : /Linux|X11/.test(userAgent) ? "Linux" : "Unknown";
  return {
    "sec-ch-ua": `"Google Chrome";v="${major}", "Chromium";v="${major}", "Not(A:Brand";v="24"`,
    "sec-ch-ua-mobile": /Mobile/.test(userAgent) ? "?1" : "?0",
    "sec-ch-ua-platform": `"${platform}"`,
  };
}

export const ACCEPT_LANGUAGE = "zh-CN,zh;q=0.9,en;q=0.8";

export interface Identity {
  userAgent: string;
  cfClearance: string;
  /** The grok.com origin in use (configurable, e.g. the fake's). */
  origin: string;
  /** Accept-Encoding the transport can decode. */
  acceptEncoding: string;
}

export const newRequestId = (): string => randomUUID();

/** REST app calls (`POST /rest/...`, §2.3). */
export function restHeaders(id: Identity, sso: string, opts: { referer?: string; statsig?: string | null; requestId?: boolean; contentType?: string | null; userId?: string | null } = {}): Record<string, string> {
  const h: Record<string, string> = {
    accept: "*/*",
    "accept-encoding": id.acceptEncoding,
    "accept-language": ACCEPT_LANGUAGE,
    "cache-control": "no-cache",
    cookie: cookieHeader(sso, { cfClearance: id.cfClearance, userId: opts.userId ?? null }),
    origin: id.origin,
    pragma: "no-cache",
    priority: "u=1, i",
    referer: opts.referer ?? `${id.origin}/`,
    "sec-fetch-dest": "empty",
    "sec-fetch-mode": "cors",
    "sec-fetch-site": "same-origin",
    "user-agent": id.userAgent,
    ...clientHints(id.userAgent),
  };
  if (opts.contentType !== null) h["content-type"] = opts.contentType ?? "application/json";
  if (opts.requestId !== false) h["x-xai-request-id"] = newRequestId();
  if (opts.statsig) h["x-statsig-id"] = opts.statsig;
  return h;
}

/** `GET /api/auth/session`: REST set without Content-Type, Origin and request id. */
export function sessionHeaders(id: Identity, sso: string): Record<string, string> {
  const h = restHeaders(id, sso, { requestId: false, contentType: null });
  delete h.origin;
  return h;
}

/** Navigation-style GET (statsig meta page). */
export function navigationHeaders(id: Identity, sso: string | null): Record<string, string> {
  return {
    accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-encoding": id.acceptEncoding,
    "accept-language": ACCEPT_LANGUAGE,
    ...(sso ? { cookie: cookieHeader(sso, { cfClearance: id.cfClearance }) } : {}),
    "sec-fetch-dest": "document",
    "sec-fetch-mode": "navigate",
    "sec-fetch-site": "same-origin",
    "upgrade-insecure-requests": "1",
    "user-agent": id.userAgent,
    ...clientHints(id.userAgent),
  };
}

/** WebSocket handshake (`/ws/mgw/`, §2.3/§3.1). */
export function websocketHeaders(id: Identity, sso: string, userId: string | null): Record<string, string> {
  return {
    origin: id.origin,
    "user-agent": id.userAgent,
    "accept-language": ACCEPT_LANGUAGE,
    "cache-control": "no-cache",
    pragma: "no-cache",
    cookie: cookieHeader(sso, { cfClearance: id.cfClearance, userId }),
  };
}
