/**
 * The app's windows and their guards. Every window: context isolation, sandbox, no Node
 * integration, web security, no webview tag; navigation and window.open checked against the
 * window's own allow-list (anything else http(s) opens in the user's browser, the rest is
 * refused); permissions denied except the few a window needs. The manager loads the server's
 * /manage page with an admin session minted by main, handed over twice: as the session cookie of
 * the window's partition (what any cookie-based manager page reads) and through the preload's
 * getServerInfo() (what the React manager asks for first).
 */
import type { NavigationDecision, PermissionDecider, Platform, SecureWebPreferences, SessionHandle, WindowHandle, WindowKind } from "./platform.js";

export const MANAGER_PARTITION = "persist:grok2api-manager";
/** The manager's session cookie (src/server/admin/session-cookie.ts SESSION_COOKIE; a test keeps them equal). */
export const SESSION_COOKIE = "g2a_session";

/** A CSP for the app's own pages when the server sent none (the server's pages carry their own, stricter one). */
export const FALLBACK_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export function secureWebPreferences(partition: string, preload?: string): SecureWebPreferences {
  return {
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    partition,
    ...(preload ? { preload } : {}),
  };
}

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

const isWeb = (u: URL) => u.protocol === "https:" || u.protocol === "http:";

/** The manager stays on the server's origin; other web links open in the browser. */
export function managerNavigation(baseUrl: string): (url: string) => NavigationDecision {
  const origin = new URL(baseUrl).origin;
  return (url) => {
    const u = parse(url);
    if (!u) return "deny";
    if (u.origin === origin) return "allow";
    return u.protocol === "https:" ? "external" : "deny";
  };
}

/** Hosts the grok.com sign-in goes through (grok.com, x.ai accounts, the X / Google / Apple sign-ins, Cloudflare's challenge). */
export const SIGNIN_HOSTS = ["grok.com", "x.ai", "x.com", "twitter.com", "accounts.google.com", "appleid.apple.com", "challenges.cloudflare.com"];

export function signInNavigation(upstreamOrigin: string): (url: string) => NavigationDecision {
  const upstream = new URL(upstreamOrigin);
  return (url) => {
    const u = parse(url);
    if (!u || !isWeb(u)) return "deny";
    if (u.origin === upstream.origin) return "allow";
    if (u.protocol !== "https:") return "deny";
    const host = u.hostname.toLowerCase();
    if (SIGNIN_HOSTS.some((h) => host === h || host.endsWith(`.${h}`))) return "allow";
    return "external";
  };
}

/** The manager may write to the clipboard (copy a key); the sign-in may go fullscreen for a captcha; nothing else for anyone. */
export function permissionPolicy(kind: WindowKind): PermissionDecider {
  const allowed: Record<WindowKind, string[]> = {
    manager: ["clipboard-sanitized-write"],
    signin: ["fullscreen"],
    gateway: [],
  };
  return (permission) => allowed[kind].includes(permission);
}

/** Adds the fallback CSP to the manager's documents from `origin` that came without one. */
export function withFallbackCsp(origin: string): (e: { url: string; resourceType: string; headers: Record<string, string[]> }) => Record<string, string[]> {
  return (e) => {
    const u = parse(e.url);
    if (!u || u.origin !== origin || (e.resourceType !== "mainFrame" && e.resourceType !== "subFrame")) return e.headers;
    if (Object.keys(e.headers).some((k) => k.toLowerCase() === "content-security-policy")) return e.headers;
    return { ...e.headers, "Content-Security-Policy": [FALLBACK_CSP] };
  };
}

/** Puts the guards on a window: navigation, new windows (never in place: allowed ones load in this window). */
export function guardWindow(p: Pick<Platform, "openExternal">, win: WindowHandle, decide: (url: string) => NavigationDecision): void {
  win.setNavigationGuard((url) => {
    const d = decide(url);
    if (d === "external") void p.openExternal(url).catch(() => undefined);
    return d;
  });
  win.setWindowOpenGuard((url) => {
    const d = decide(url);
    if (d === "external") void p.openExternal(url).catch(() => undefined);
    else if (d === "allow") void win.loadURL(url).catch(() => undefined); // sign-in popups (OAuth) load in place
    return "deny";
  });
}

export function hardenSession(s: SessionHandle, kind: WindowKind): void {
  s.setPermissionHandlers(permissionPolicy(kind));
}

export interface ManagerDeps {
  platform: Platform;
  baseUrl: () => string;
  mintSession: () => Promise<string>;
  preloadPath: string;
}

/** The manager window: one, re-shown and focused when asked again (a second app launch, the tray). */
export class ManagerWindow {
  private win: WindowHandle | null = null;
  private hardened = false;

  constructor(private readonly d: ManagerDeps) {}

  get handle(): WindowHandle | null {
    return this.win && !this.win.isDestroyed() ? this.win : null;
  }

  /** The web contents that may use the desktop API (see ipc.ts). */
  isManager(webContentsId: number): boolean {
    return this.handle?.webContentsId === webContentsId;
  }

  async show(pathAndQuery = "/manage"): Promise<WindowHandle> {
    const existing = this.handle;
    if (existing) {
      if (existing.isMinimized()) existing.restore();
      existing.show();
      existing.focus();
      if (pathAndQuery !== "/manage") await existing.loadURL(this.d.baseUrl() + pathAndQuery);
      return existing;
    }
    const base = this.d.baseUrl();
    const session = this.d.platform.session(MANAGER_PARTITION);
    if (!this.hardened) {
      hardenSession(session, "manager");
      session.onHeadersReceived(withFallbackCsp(new URL(base).origin));
      this.hardened = true;
    }
    const win = this.d.platform.createWindow({ kind: "manager", title: "Grok2API", width: 1180, height: 800, show: true, webPreferences: secureWebPreferences(MANAGER_PARTITION, this.d.preloadPath) });
    this.win = win;
    win.onClosed(() => {
      if (this.win === win) this.win = null;
    });
    guardWindow(this.d.platform, win, managerNavigation(base));
    const token = await this.d.mintSession();
    await session.cookies.set({ url: `${base}/api`, name: SESSION_COOKIE, value: token, path: "/api", httpOnly: true, sameSite: "strict", secure: base.startsWith("https:") });
    await win.loadURL(base + pathAndQuery);
    win.focus();
    return win;
  }

  close(): void {
    this.handle?.close();
    this.win = null;
  }
}
