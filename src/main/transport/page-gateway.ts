/**
 * The gateway WebSocket from Chromium: a hidden, sandboxed page of the account's partition (on
 * the grok.com origin, so Origin, cookies, user agent and TLS are the browser's) opens the socket
 * in its preload (src/preload/gateway.ts) and relays it over IPC. This module is the main side:
 * it implements the server's GatewaySocketFactory on top of that relay.
 *
 * What a page socket cannot do, and what is done instead:
 * - set handshake headers: the account's cookies (sso, sso-rw, x-userid) are put into the
 *   partition's jar before connecting; Origin and User-Agent are the page's;
 * - see the HTTP answer of a refused upgrade: on an error before open, the same URL is fetched
 *   through the partition (net) and a 4xx/5xx answer is reported as the unexpected response, so
 *   Cloudflare and auth refusals are classified as with `ws`;
 * - pause reading: browsers have no backpressure on WebSockets; frames buffer in the server's
 *   bounded queue (pause/resume are no-ops).
 */
import type { GatewaySocket, GatewaySocketFactory, GatewaySocketHandlers, GatewaySocketOptions } from "../../server/grok/gateway-socket.js";
import type { CookieStore } from "../platform.js";
import { parseCookieHeader, ssoOfCookieHeader } from "./partitions.js";

export type PageCommand = { op: "open"; id: string; url: string } | { op: "send"; id: string; data: string } | { op: "close"; id: string; code: number };

export type PageEvent =
  | { id: string; type: "open" }
  | { id: string; type: "message"; data: string }
  | { id: string; type: "error"; message: string }
  | { id: string; type: "close"; code: number; reason: string };

/** A hidden page that relays WebSockets (one per partition, created on demand). */
export interface GatewayPage {
  send(cmd: PageCommand): void;
}

export interface PageGatewayDeps {
  /** The page of a partition, loaded on `origin` with that user agent, ready for commands. */
  page(partition: string, origin: string, userAgent: string | undefined): Promise<GatewayPage>;
  cookies(partition: string): Pick<CookieStore, "get" | "set">;
  setProxy(partition: string, proxyUrl: string | undefined): Promise<void>;
  /** GET through the partition's network stack, to learn why an upgrade failed. */
  probe(partition: string, url: string): Promise<{ status: number; headers: Headers; body: string } | null>;
  partitionFor(token: string | null): string;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Cookies of the handshake header the page's jar must hold for this account. */
const ACCOUNT_COOKIES = new Set(["sso", "sso-rw", "x-userid"]);
const CF_COOKIE = /^(cf_clearance|__cf_bm|_cfuvid|cf_chl_.*)$/i;

let nextId = 0;

function header(opts: GatewaySocketOptions, name: string): string | undefined {
  return Object.entries(opts.headers).find(([k]) => k.toLowerCase() === name)?.[1];
}

export function isRefusal(status: number): boolean {
  return status >= 400;
}

export class PageGateway {
  private readonly sockets = new Map<string, { on: GatewaySocketHandlers; state: "connecting" | "open" | "closed"; page: GatewayPage | null; pending: PageCommand[]; failed: boolean; partition: string; url: string; timer: unknown }>();
  private readonly proxies = new Map<string, string>();

  constructor(private readonly d: PageGatewayDeps) {}

  /** The factory to hand to startServer({ upstream: { gatewaySocket } }). */
  readonly factory: GatewaySocketFactory = (url, opts, on) => this.open(url, opts, on);

  get openCount(): number {
    return this.sockets.size;
  }

  private open(url: string, opts: GatewaySocketOptions, on: GatewaySocketHandlers): GatewaySocket {
    const id = `gw${++nextId}`;
    const cookieHeader = header(opts, "cookie");
    const partition = this.d.partitionFor(ssoOfCookieHeader(cookieHeader));
    const s = { on, state: "connecting" as "connecting" | "open" | "closed", page: null as GatewayPage | null, pending: [] as PageCommand[], failed: false, partition, url, timer: null as unknown };
    this.sockets.set(id, s);
    s.timer = this.d.setTimeout(() => {
      if (s.state !== "connecting") return;
      this.finish(id, () => on.error(new Error(`gateway handshake timed out after ${opts.handshakeTimeoutMs} ms`)), 1006, "handshake timeout");
    }, opts.handshakeTimeoutMs);
    const httpUrl = url.replace(/^ws/, "http");
    const origin = new URL(httpUrl).origin;
    void (async () => {
      await this.ensureProxy(partition, opts.proxyUrl);
      await this.ensureCookies(partition, origin, cookieHeader);
      const page = await this.d.page(partition, origin, header(opts, "user-agent"));
      if (s.state === "closed") return;
      s.page = page;
      page.send({ op: "open", id, url });
      for (const cmd of s.pending.splice(0)) page.send(cmd);
    })().catch((err) => this.finish(id, () => on.error(err), 1006, "gateway page failed"));

    const command = (cmd: PageCommand) => {
      if (s.page) s.page.send(cmd);
      else s.pending.push(cmd);
    };
    return {
      get isOpen() {
        return s.state === "open";
      },
      send: (text) => {
        if (s.state !== "open") throw new Error("gateway socket is not open");
        command({ op: "send", id, data: text });
      },
      close: (code) => {
        if (s.state === "closed") return;
        command({ op: "close", id, code });
      },
      terminate: () => {
        if (s.state === "closed") return;
        command({ op: "close", id, code: 1000 });
        this.finish(id, null, 1006, "terminated");
      },
      pause: () => undefined,
      resume: () => undefined,
    };
  }

  private async ensureProxy(partition: string, proxyUrl: string | undefined): Promise<void> {
    const want = proxyUrl ?? "";
    if ((this.proxies.get(partition) ?? "") === want) return;
    await this.d.setProxy(partition, proxyUrl);
    this.proxies.set(partition, want);
  }

  /** Writes the handshake's account cookies into the jar; Cloudflare ones only where the jar has none of its own. */
  private async ensureCookies(partition: string, origin: string, header: string | undefined): Promise<void> {
    const pairs = parseCookieHeader(header);
    if (!pairs.length) return;
    const jar = this.d.cookies(partition);
    const existing = await jar.get({ url: origin });
    const jarHasCf = existing.some((c) => CF_COOKIE.test(c.name));
    const secure = origin.startsWith("https:");
    for (const [name, value] of pairs) {
      if (!ACCOUNT_COOKIES.has(name) && !(CF_COOKIE.test(name) && !jarHasCf)) continue;
      if (existing.some((c) => c.name === name && c.value === value)) continue;
      await jar.set({ url: origin, name, value, path: "/", secure, httpOnly: true, sameSite: secure ? "no_restriction" : "lax" });
    }
  }

  /** Routes an event from a page (already checked to come from the gateway page of `partition`). */
  onPageEvent(partition: string, ev: PageEvent): void {
    const s = this.sockets.get(ev.id);
    if (!s || s.partition !== partition) return; // not ours, or from another partition's page
    switch (ev.type) {
      case "open":
        if (s.state !== "connecting") return;
        s.state = "open";
        this.d.clearTimeout(s.timer);
        s.on.open();
        return;
      case "message":
        if (s.state === "open") s.on.message(ev.data);
        return;
      case "error":
        if (s.state === "connecting") {
          s.failed = true;
          void this.explainRefusal(ev.id, s.partition, s.url, ev.message);
        } else if (s.state === "open") s.on.error(new Error(ev.message || "gateway WebSocket error"));
        return;
      case "close":
        if (s.failed) return; // explainRefusal ends it
        this.finish(ev.id, null, ev.code, ev.reason);
        return;
    }
  }

  private async explainRefusal(id: string, partition: string, url: string, message: string): Promise<void> {
    const s = this.sockets.get(id);
    if (!s) return;
    const answer = await this.d.probe(partition, url.replace(/^ws/, "http")).catch(() => null);
    if (this.sockets.get(id) !== s) return;
    if (answer && isRefusal(answer.status)) this.finish(id, () => s.on.unexpectedResponse(answer.status, answer.headers, answer.body), 1006, "");
    else this.finish(id, () => s.on.error(new Error(message || "gateway WebSocket connection failed")), 1006, "");
  }

  private finish(id: string, report: (() => void) | null, code: number, reason: string): void {
    const s = this.sockets.get(id);
    if (!s || s.state === "closed") return;
    s.state = "closed";
    this.d.clearTimeout(s.timer);
    this.sockets.delete(id);
    report?.();
    s.on.close(code, reason);
  }
}
