/**
 * Chromium's network stack as the server's upstream HTTP transport (the app's default): each
 * request goes through `session.fetch` of the account's partition, so TLS, HTTP/2 and the
 * connection behave as a real Chrome's (grok-protocol.md §2.4). The server still decides every
 * header; Chromium adds and decodes the content encoding itself, and Cloudflare cookies the
 * partition earned in a sign-in window replace the configured ones.
 * Implements the server's HttpTransport (src/server/grok/transport.ts) and passes the same
 * contract tests as impit and fetch (test/grok/transport-contract*.ts).
 */
import type { HttpTransport, RequestOptions, UpstreamResponse } from "../../server/grok/transport.js";
import { collect, iterate } from "../../shared/web-streams.js";
import type { SessionHandle } from "../platform.js";
import { parseCookieHeader, ssoOfCookieHeader } from "./partitions.js";

/** What the transport uses of a session (a stub in tests: Node's fetch and a cookie map). */
export type UpstreamSession = Pick<SessionHandle, "fetch" | "setProxy"> & { cookies: Pick<SessionHandle["cookies"], "get"> };

/** Headers Chromium sets itself (and refuses or overrides from callers). */
const CHROMIUM_OWNED = new Set(["accept-encoding", "host", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade"]);
const CF_COOKIE = /^(cf_clearance|__cf_bm|_cfuvid|cf_chl_.*)$/i;
const BODY_LIMIT = 8 * 1024 * 1024;

/** The caller's Cookie header with the partition's Cloudflare cookies in place of the configured ones. */
export function mergeCloudflareCookies(header: string | undefined, jar: Array<{ name: string; value: string }>): string | undefined {
  const fromJar = jar.filter((c) => CF_COOKIE.test(c.name) && c.value);
  if (!fromJar.length) return header;
  const kept = parseCookieHeader(header).filter(([name]) => !CF_COOKIE.test(name));
  return [...kept, ...fromJar.map((c) => [c.name, c.value] as [string, string])].map(([k, v]) => `${k}=${v}`).join("; ");
}

export class ChromiumTransport implements HttpTransport {
  readonly name = "chromium" as const;
  private readonly proxies = new Map<string, string>();

  constructor(
    private readonly sessionFor: (partition: string) => UpstreamSession,
    private readonly partitionFor: (token: string | null) => string,
  ) {}

  private async session(partition: string, proxyUrl: string | undefined): Promise<UpstreamSession> {
    const s = this.sessionFor(partition);
    const want = proxyUrl ?? "";
    if ((this.proxies.get(partition) ?? "") !== want) {
      await s.setProxy(proxyUrl);
      this.proxies.set(partition, want);
    }
    return s;
  }

  async request(url: string, opts: RequestOptions): Promise<UpstreamResponse> {
    const cookieName = Object.keys(opts.headers).find((k) => k.toLowerCase() === "cookie");
    const cookie = cookieName ? opts.headers[cookieName] : undefined;
    const partition = this.partitionFor(ssoOfCookieHeader(cookie));
    const s = await this.session(partition, opts.proxyUrl);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers)) if (!CHROMIUM_OWNED.has(k.toLowerCase()) && k.toLowerCase() !== "cookie") headers[k] = v;
    const jar = cookie !== undefined ? await s.cookies.get({ url }).catch(() => []) : [];
    const merged = mergeCloudflareCookies(cookie, jar);
    if (merged !== undefined) headers.cookie = merged;
    // cancel() aborts the fetch (which ends its body stream); the caller's signal does the same
    const cancelled = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, cancelled.signal]) : cancelled.signal;
    const res = await s.fetch(url, {
      method: opts.method,
      headers,
      ...(opts.body !== undefined ? { body: opts.body as BodyInit } : {}),
      signal,
      redirect: "manual",
      credentials: "omit", // the Cookie header above is the whole truth
      cache: "no-store",
    });
    // Chromium already decoded the body: the encoding and length no longer describe it.
    const h = new Headers(res.headers);
    if (h.has("content-encoding")) {
      h.delete("content-encoding");
      h.delete("content-length");
    }
    const body = iterate(res.body, signal);
    return {
      status: res.status,
      headers: h,
      body,
      bytes: () => collect(body, BODY_LIMIT),
      text: async () => Buffer.from(await collect(body, BODY_LIMIT)).toString("utf8"),
      cancel: () => cancelled.abort(),
    };
  }
}
