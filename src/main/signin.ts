/**
 * "Sign in to grok.com": a window of its own persistent partition loads grok.com; once the user
 * is signed in, the session's cookies hold `sso` (and `sso-rw`, and Cloudflare's `cf_clearance`
 * when a challenge was passed). They are read from the session's cookie store (no copying by
 * hand), together with the session's user agent, and the account is added — or refreshed when it
 * is already in the pool.
 */
import { normalizeToken } from "../server/core/token.js";
import type { CookieInfo, CookieStore } from "./platform.js";

export interface CapturedAccount {
  sso: string;
  ssoRw: string | null;
  cfClearance: string | null;
  /** All Cloudflare cookies of the session, as a Cookie-header fragment (`cf_clearance=…; __cf_bm=…`). */
  cloudflareCookies: string;
  userAgent: string;
}

const CF_COOKIE = /^(cf_clearance|__cf_bm|_cfuvid)$/;

/** A JWT-shaped value (grok.com's sso cookie is one): three base64url parts. */
export function looksLikeSso(v: string): boolean {
  return /^[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$/.test(v);
}

function onDomain(c: CookieInfo, host: string): boolean {
  const d = c.domain.replace(/^\./, "").toLowerCase();
  return host === d || host.endsWith(`.${d}`);
}

/** Reads the sign-in result from a session's cookies; null while not signed in. */
export async function readSignIn(cookies: Pick<CookieStore, "get">, origin: string, userAgent: string): Promise<CapturedAccount | null> {
  const host = new URL(origin).hostname.toLowerCase();
  const all = (await cookies.get({ url: origin })).filter((c) => onDomain(c, host) || !c.domain);
  const value = (name: string) => all.find((c) => c.name === name)?.value ?? null;
  const sso = normalizeToken(value("sso") ?? "");
  if (!sso || !looksLikeSso(sso)) return null;
  const cf = all.filter((c) => CF_COOKIE.test(c.name) && c.value);
  return {
    sso,
    ssoRw: value("sso-rw"),
    cfClearance: value("cf_clearance"),
    cloudflareCookies: cf.map((c) => `${c.name}=${c.value}`).join("; "),
    userAgent,
  };
}

/**
 * Electron adds "Electron/…" and the app's name to its user agent; grok.com (and Cloudflare) should
 * see the plain Chrome it is.
 */
export function browserUserAgent(ua: string): string {
  return ua
    .replace(/\s(?:Electron|grok2api-desktop|Grok2API)\/\S+/gi, "")
    .replace(/\s{2,}/g, " ")
    .trim();
}

/**
 * Watches a session's cookie store until a signed-in sso appears (and again when it changes:
 * the user signed into another account in the same window). Calls `onCapture` once per sso value.
 */
export class SignInWatcher {
  private stop: (() => void) | null = null;
  private timer: unknown = null;
  private lastSso: string | null = null;
  private checking: Promise<void> = Promise.resolve();

  constructor(
    private readonly cookies: CookieStore,
    private readonly origin: string,
    private readonly userAgent: () => string,
    private readonly onCapture: (c: CapturedAccount) => void | Promise<void>,
    private readonly timers: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(h: unknown): void },
    private readonly debounceMs = 400,
  ) {}

  start(): void {
    if (this.stop) return;
    this.stop = this.cookies.onChanged((c, removed) => {
      if (removed || !["sso", "sso-rw", "cf_clearance"].includes(c.name)) return;
      if (this.timer !== null) this.timers.clearTimeout(this.timer);
      this.timer = this.timers.setTimeout(() => {
        this.timer = null;
        void this.check();
      }, this.debounceMs);
    });
    void this.check(); // already signed in from an earlier visit
  }

  /** Reads the cookies now; resolves when any resulting capture was handled. */
  check(): Promise<void> {
    this.checking = this.checking.then(async () => {
      const cap = await readSignIn(this.cookies, this.origin, this.userAgent());
      if (!cap || cap.sso === this.lastSso) return;
      this.lastSso = cap.sso;
      await this.onCapture(cap);
    });
    return this.checking;
  }

  dispose(): void {
    this.stop?.();
    this.stop = null;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}

/** The parts of the running server a capture changes. */
export interface CaptureTarget {
  pool: {
    add(tokens: string[], opts?: { tags?: string[] }): Promise<{ added: string[]; existing: string[] }>;
    syncOne(token: string): Promise<void>;
  };
  settings: {
    value: { grok: { cf_clearance: string; user_agent: string } };
    update(patch: { grok: Record<string, unknown> }): Promise<unknown>;
  };
}

export interface CaptureResult {
  token: string;
  added: boolean;
  /** The session lookup + quota check passed (false: added anyway; the pool retries later). */
  verified: boolean;
  error: string | null;
  clearanceUpdated: boolean;
}

/**
 * Adds (or refreshes) the account; with a Cloudflare clearance, also makes it and the session's
 * user agent the server's `cf_clearance` / `user_agent` settings (they only work together).
 */
export async function applyCapture(cap: CapturedAccount, target: CaptureTarget): Promise<CaptureResult> {
  const { added } = await target.pool.add([cap.sso], { tags: ["signed-in"] });
  let clearanceUpdated = false;
  const g = target.settings.value.grok;
  if (cap.cfClearance && (g.cf_clearance !== cap.cloudflareCookies || g.user_agent !== cap.userAgent)) {
    await target.settings.update({ grok: { cf_clearance: cap.cloudflareCookies, user_agent: cap.userAgent } });
    clearanceUpdated = true;
  }
  let verified = false;
  let error: string | null = null;
  try {
    await target.pool.syncOne(cap.sso); // proves the cookie, reads the quota; revives a dead account
    verified = true;
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  return { token: cap.sso, added: added.length > 0, verified, error, clearanceUpdated };
}
