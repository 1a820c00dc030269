import type { GrokSettings } from "../config/settings-schema.js";
import { randomIndex } from "../core/random.js";
import { failure } from "./classify.js";
import { navigationHeaders, type Identity } from "./identity.js";
import type { HttpTransport } from "./transport.js";
import { UpstreamError } from "./upstream-error.js";

/**
 * `x-statsig-id` in every mode of grok-protocol.md §2.6:
 * - dynamic: per request, base64 of the browser's fallback text with the configured prefix
 *   (`x1:` today; `e:` was rejected from 2 Jun 2026);
 * - static: the operator's `x_statsig_id`;
 * - signed: the page's `grok-site-verification` meta content signed by a signer service,
 *   cached per (origin, signer, method, path) for 1 h, stale value reused when a refresh fails,
 *   invalidated after an anti-bot rejection.
 */
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const ALNUM = LOWER + "0123456789";
const pick = (alphabet: string, n: number) => {
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[randomIndex(alphabet.length)];
  return s;
};

export function dynamicStatsig(prefix: string): string {
  const escaped = prefix.startsWith("x1");
  const text =
    randomIndex(2) === 0
      ? escaped
        ? `${prefix}TypeError: Cannot read properties of null (reading 'children[\\'${pick(ALNUM, 5)}\\']')`
        : `${prefix}TypeError: Cannot read properties of null (reading 'children['${pick(ALNUM, 5)}']')`
      : `${prefix}TypeError: Cannot read properties of undefined (reading '${pick(LOWER, 10)}')`;
  return Buffer.from(text, "utf8").toString("base64");
}

/** True when a value decodes (padded or raw base64) to exactly 70 bytes. */
export function isSignedStatsig(value: string): boolean {
  try {
    return Buffer.from(value.replace(/=+$/, ""), "base64").length === 70;
  } catch {
    return false;
  }
}

/** Extracts the `grok-site-verification` meta content (dash-like characters normalised). */
export function extractVerificationMeta(html: string): string | null {
  const norm = html.replace(/[\u2010-\u2015]/g, "-");
  const tag = /<meta\b[^>]*name\s*=\s*["']grok-site-verification["'][^>]*>/i.exec(norm)?.[0];
  if (!tag) return null;
  return /content\s*=\s*["']([^"']*)["']/i.exec(tag)?.[1] ?? null;
}

interface CacheEntry {
  value: string;
  fetchedAt: number;
}
const TTL_MS = 60 * 60 * 1000;

export class StatsigProvider {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly deps: {
      settings: () => GrokSettings;
      identity: () => Identity;
      transport: () => HttpTransport;
      proxyUrl: () => string | undefined;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.deps.now ? this.deps.now() : Date.now();
  }

  async get(method: string, path: string, sso: string, signal?: AbortSignal): Promise<string> {
    const s = this.deps.settings();
    if (s.statsig_mode === "static" && s.x_statsig_id.trim()) return s.x_statsig_id.trim();
    if (s.statsig_mode === "signed" && s.statsig_signer_url.trim()) return this.signed(method, path, sso, signal);
    return dynamicStatsig(s.statsig_prefix || "x1:");
  }

  /** After an anti-bot rejection: forget the signed value for this route. */
  invalidate(method: string, path: string): void {
    this.cache.delete(this.key(method, path));
  }

  private key(method: string, path: string): string {
    return `${this.deps.identity().origin}|${this.deps.settings().statsig_signer_url}|${method}|${path}`;
  }

  private async signed(method: string, path: string, sso: string, signal?: AbortSignal): Promise<string> {
    const key = this.key(method, path);
    const cached = this.cache.get(key);
    if (cached && this.now() - cached.fetchedAt < TTL_MS) return cached.value;
    try {
      const meta = await this.fetchMeta(sso, signal);
      const value = await this.sign(method, path, meta, signal);
      this.cache.set(key, { value, fetchedAt: this.now() });
      return value;
    } catch (err) {
      if (cached) return cached.value; // stale but valid
      throw err;
    }
  }

  private async fetchMeta(sso: string, signal?: AbortSignal): Promise<string> {
    const id = this.deps.identity();
    for (const page of ["/index", "/"]) {
      const res = await this.deps.transport().request(`${id.origin}${page}`, { method: "GET", headers: navigationHeaders(id, sso), signal, proxyUrl: this.deps.proxyUrl() });
      const html = await res.text();
      if (res.status === 404 && page === "/index") continue;
      if (res.status < 200 || res.status >= 300) throw new UpstreamError(failure("upstream_error", `statsig: GET ${page} answered ${res.status}`, { status: res.status }));
      const meta = extractVerificationMeta(html);
      if (meta === null) {
        if (page === "/index" && res.status === 404) continue;
        throw new UpstreamError(failure("upstream_error", `statsig: GET ${page} has no grok-site-verification meta`));
      }
      return meta;
    }
    throw new UpstreamError(failure("upstream_error", "statsig: neither /index nor / carried the grok-site-verification meta"));
  }

  private async sign(method: string, path: string, metaContent: string, signal?: AbortSignal): Promise<string> {
    const url = this.deps.settings().statsig_signer_url.replace(/\/+$/, "");
    const endpoint = /\/sign$/.test(url) ? url : `${url}/sign`;
    const res = await this.deps.transport().request(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ method, path, environment: { metaContent } }),
      signal,
      proxyUrl: this.deps.proxyUrl(),
    });
    const text = await res.text();
    if (res.status !== 200) throw new UpstreamError(failure("upstream_error", `statsig signer answered ${res.status}: ${text.slice(0, 200)}`, { status: res.status }));
    let value: unknown;
    try {
      value = (JSON.parse(text) as Record<string, unknown>)["x-statsig-id"];
    } catch {
      value = null;
    }
    if (typeof value !== "string" || !isSignedStatsig(value)) throw new UpstreamError(failure("upstream_error", "statsig signer returned no 70-byte x-statsig-id"));
    return value;
  }
}
