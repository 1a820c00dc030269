/**
 * A fake of the desktop app's Electron interface (src/main/platform.ts) for plain-Node tests: it
 * records what the app asks of Electron (trays, windows, notifications, IPC handlers, cookies…)
 * and lets a test play Electron's part (fire before-quit, send IPC from a given sender, click a
 * menu item or a notification).
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type {
  CookieInfo,
  CookieStore,
  IconImage,
  IpcMainLike,
  IpcSender,
  MenuItemSpec,
  NavigationDecision,
  NotificationHandle,
  NotificationSpec,
  PermissionDecider,
  Platform,
  QuitEvent,
  ResponseHeadersEvent,
  SecretBox,
  SessionHandle,
  TrayHandle,
  WindowHandle,
  WindowSpec,
} from "../../src/main/platform.js";

export class FakeCookies implements CookieStore {
  readonly jar: CookieInfo[] = [];
  private readonly listeners = new Set<(c: CookieInfo, removed: boolean) => void>();

  async get(filter: { url?: string; name?: string; domain?: string }): Promise<CookieInfo[]> {
    const host = filter.url ? new URL(filter.url).hostname : null;
    return this.jar.filter((c) => (!filter.name || c.name === filter.name) && (!host || host === c.domain.replace(/^\./, "") || host.endsWith(c.domain.startsWith(".") ? c.domain : `.${c.domain}`)));
  }

  async set(c: { url: string; name: string; value: string; domain?: string; path?: string; secure?: boolean; httpOnly?: boolean }): Promise<void> {
    this.put({ name: c.name, value: c.value, domain: c.domain ?? new URL(c.url).hostname, path: c.path ?? "/", secure: !!c.secure, httpOnly: !!c.httpOnly });
  }

  /** What a page (or the server's Set-Cookie) would do: set and notify. */
  put(c: CookieInfo): void {
    const i = this.jar.findIndex((x) => x.name === c.name && x.domain === c.domain && x.path === c.path);
    if (i >= 0) this.jar.splice(i, 1);
    this.jar.push(c);
    for (const l of this.listeners) l(c, false);
  }

  onChanged(fn: (c: CookieInfo, removed: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}

export class FakeSession implements SessionHandle {
  readonly cookies = new FakeCookies();
  userAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) grok2api-desktop/0.1.0 Chrome/140.0.7339.41 Electron/45.4.1 Safari/537.36";
  proxy: string | undefined = undefined;
  permissions: PermissionDecider | null = null;
  headerHooks: Array<(e: ResponseHeadersEvent) => Record<string, string[]>> = [];
  fetches: Array<{ url: string; init: RequestInit }> = [];
  /** Network behind session.fetch (default: Node's fetch). */
  fetchImpl: (url: string, init: RequestInit) => Promise<Response> = (url, init) => fetch(url, init);

  constructor(readonly partition: string) {}

  getUserAgent(): string {
    return this.userAgent;
  }
  setUserAgent(ua: string): void {
    this.userAgent = ua;
  }
  fetch(url: string, init: RequestInit): Promise<Response> {
    this.fetches.push({ url, init });
    return this.fetchImpl(url, init);
  }
  async setProxy(proxyUrl: string | undefined): Promise<void> {
    this.proxy = proxyUrl;
  }
  setPermissionHandlers(decide: PermissionDecider): void {
    this.permissions = decide;
  }
  onHeadersReceived(fn: (e: ResponseHeadersEvent) => Record<string, string[]>): void {
    this.headerHooks.push(fn);
  }
  async clearStorage(): Promise<void> {
    this.cookies.jar.splice(0);
  }
}

let nextWebContents = 100;

export class FakeWindow implements WindowHandle {
  readonly webContentsId = ++nextWebContents;
  loads: string[] = [];
  scripts: string[] = [];
  sent: Array<{ channel: string; payload: unknown }> = [];
  shown = 0;
  focused = 0;
  minimized = false;
  restored = 0;
  destroyed = false;
  navGuard: ((url: string) => NavigationDecision) | null = null;
  openGuard: ((url: string) => NavigationDecision) | null = null;
  private closedFns: Array<() => void> = [];
  /** Lets a test fail or delay loads. */
  loadImpl: (url: string) => Promise<void> = async () => undefined;

  constructor(readonly spec: WindowSpec) {}

  async loadURL(url: string): Promise<void> {
    this.loads.push(url);
    await this.loadImpl(url);
  }
  currentUrl(): string {
    return this.loads.at(-1) ?? "";
  }
  async executeJavaScript(code: string): Promise<unknown> {
    this.scripts.push(code);
    return true;
  }
  show(): void {
    this.shown++;
  }
  focus(): void {
    this.focused++;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  restore(): void {
    this.minimized = false;
    this.restored++;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  close(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const f of this.closedFns) f();
  }
  onClosed(fn: () => void): void {
    this.closedFns.push(fn);
  }
  setNavigationGuard(decide: (url: string) => NavigationDecision): void {
    this.navGuard = decide;
  }
  setWindowOpenGuard(decide: (url: string) => NavigationDecision): void {
    this.openGuard = decide;
  }
  onDidNavigate(): void {}
  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload });
  }
}

export class FakeTray implements TrayHandle {
  images: IconImage[] = [];
  tooltips: string[] = [];
  menus: MenuItemSpec[][] = [];
  titles: string[] = [];
  clickFns: Array<() => void> = [];
  destroyed = false;

  constructor(icon: IconImage) {
    this.images.push(icon);
  }
  setImage(icon: IconImage): void {
    this.images.push(icon);
  }
  setToolTip(text: string): void {
    this.tooltips.push(text);
  }
  setContextMenu(items: MenuItemSpec[]): void {
    this.menus.push(items);
  }
  setTitle(text: string): void {
    this.titles.push(text);
  }
  onClick(fn: () => void): void {
    this.clickFns.push(fn);
  }
  destroy(): void {
    this.destroyed = true;
  }
  get menu(): MenuItemSpec[] {
    return this.menus.at(-1) ?? [];
  }
  item(id: string): MenuItemSpec | undefined {
    const walk = (items: MenuItemSpec[]): MenuItemSpec | undefined => {
      for (const i of items) {
        if (i.id === id) return i;
        const sub = i.submenu && walk(i.submenu);
        if (sub) return sub;
      }
      return undefined;
    };
    return walk(this.menu);
  }
}

export class FakeNotification implements NotificationHandle {
  shown = false;
  closed = false;
  private clickFns: Array<() => void> = [];
  private actionFns: Array<(i: number) => void> = [];
  constructor(readonly spec: NotificationSpec) {}
  show(): void {
    this.shown = true;
  }
  onClick(fn: () => void): void {
    this.clickFns.push(fn);
  }
  onAction(fn: (i: number) => void): void {
    this.actionFns.push(fn);
  }
  close(): void {
    this.closed = true;
  }
  click(): void {
    for (const f of this.clickFns) f();
  }
  action(i: number): void {
    for (const f of this.actionFns) f(i);
  }
}

export class FakeIpc implements IpcMainLike {
  readonly handlers = new Map<string, (sender: IpcSender, args: unknown[]) => Promise<unknown>>();
  readonly listeners = new Map<string, Array<(sender: IpcSender, args: unknown[]) => void>>();
  handle(channel: string, fn: (sender: IpcSender, args: unknown[]) => Promise<unknown>): void {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    this.handlers.set(channel, fn);
  }
  on(channel: string, fn: (sender: IpcSender, args: unknown[]) => void): void {
    this.listeners.set(channel, [...(this.listeners.get(channel) ?? []), fn]);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  /** ipcRenderer.invoke from `sender`. */
  invoke(channel: string, sender: IpcSender, ...args: unknown[]): Promise<unknown> {
    const h = this.handlers.get(channel);
    if (!h) return Promise.reject(new Error(`no handler for ${channel}`));
    return h(sender, args);
  }
  send(channel: string, sender: IpcSender, ...args: unknown[]): void {
    for (const l of this.listeners.get(channel) ?? []) l(sender, args);
  }
}

/** A keychain stand-in: AES-256-GCM with a key of its own (what safeStorage does with the OS's). */
export class FakeSecretBox implements SecretBox {
  private readonly key = randomBytes(32);
  constructor(public available = true) {}
  isAvailable(): boolean {
    return this.available;
  }
  encrypt(plain: string): Buffer {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.key, iv);
    const body = Buffer.concat([c.update(plain, "utf8"), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]);
  }
  decrypt(cipher: Buffer): string {
    const d = createDecipheriv("aes-256-gcm", this.key, cipher.subarray(0, 12));
    d.setAuthTag(cipher.subarray(12, 28));
    return Buffer.concat([d.update(cipher.subarray(28)), d.final()]).toString("utf8");
  }
}

export class FakePlatform implements Platform {
  os: NodeJS.Platform = "linux";
  appVersion = "0.1.0-test";
  readonly root: string;
  lockAvailable = true;
  dark = false;
  startAtLogin = false;
  startAtLoginCalls: boolean[] = [];
  quitCalls = 0;
  exitCodes: number[] = [];
  clipboard: string[] = [];
  opened: string[] = [];
  openedPaths: string[] = [];
  trays: FakeTray[] = [];
  windows: FakeWindow[] = [];
  notifications: FakeNotification[] = [];
  sessions = new Map<string, FakeSession>();
  secrets: SecretBox | null = null;
  readonly ipc = new FakeIpc();
  /** Every call, in order (boot-order tests read it). */
  calls: string[] = [];
  private secondInstance: Array<() => void> = [];
  private beforeQuit: Array<(e: QuitEvent) => void> = [];
  private themeFns: Array<() => void> = [];
  private ready = Promise.resolve();

  constructor(root = mkdtempSync(path.join(os.tmpdir(), "g2a-desktop-"))) {
    this.root = root;
  }

  userDataDir(): string {
    return path.join(this.root, "userData");
  }
  logsDir(): string {
    return path.join(this.root, "logs");
  }
  appDir(): string {
    return path.join(this.root, "app", "out");
  }
  requestSingleInstanceLock(): boolean {
    this.calls.push("requestSingleInstanceLock");
    return this.lockAvailable;
  }
  onSecondInstance(fn: () => void): void {
    this.calls.push("onSecondInstance");
    this.secondInstance.push(fn);
  }
  whenReady(): Promise<void> {
    this.calls.push("whenReady");
    return this.ready;
  }
  onBeforeQuit(fn: (e: QuitEvent) => void): void {
    this.calls.push("onBeforeQuit");
    this.beforeQuit.push(fn);
  }
  onWindowAllClosed(): void {
    this.calls.push("onWindowAllClosed");
  }
  quit(): void {
    this.calls.push("quit");
    this.quitCalls++;
  }
  exit(code: number): void {
    this.calls.push("exit");
    this.exitCodes.push(code);
  }
  getStartAtLogin(): boolean {
    return this.startAtLogin;
  }
  setStartAtLogin(enabled: boolean): void {
    this.calls.push(`setStartAtLogin:${enabled}`);
    this.startAtLoginCalls.push(enabled);
    this.startAtLogin = enabled;
  }
  createTray(icon: IconImage): TrayHandle {
    this.calls.push("createTray");
    const t = new FakeTray(icon);
    this.trays.push(t);
    return t;
  }
  createWindow(spec: WindowSpec): WindowHandle {
    this.calls.push(`createWindow:${spec.kind}`);
    const w = new FakeWindow(spec);
    this.windows.push(w);
    return w;
  }
  session(partition: string): FakeSession {
    let s = this.sessions.get(partition);
    if (!s) this.sessions.set(partition, (s = new FakeSession(partition)));
    return s;
  }
  notificationsSupported(): boolean {
    return true;
  }
  createNotification(spec: NotificationSpec): NotificationHandle {
    const n = new FakeNotification(spec);
    this.notifications.push(n);
    return n;
  }
  writeClipboard(text: string): void {
    this.clipboard.push(text);
  }
  async openExternal(url: string): Promise<void> {
    this.opened.push(url);
  }
  async openPath(p: string): Promise<string> {
    this.openedPaths.push(p);
    return "";
  }
  prefersDark(): boolean {
    return this.dark;
  }
  onThemeChanged(fn: () => void): void {
    this.themeFns.push(fn);
  }

  // ---- playing Electron's part ----
  launchSecondInstance(): void {
    for (const f of this.secondInstance) f();
  }
  /** Fires before-quit; resolves to whether a handler prevented it. */
  fireBeforeQuit(): boolean {
    let prevented = false;
    for (const f of this.beforeQuit) f({ preventDefault: () => (prevented = true) });
    return prevented;
  }
  setTheme(dark: boolean): void {
    this.dark = dark;
    for (const f of this.themeFns) f();
  }
  get tray(): FakeTray {
    const t = this.trays.at(-1);
    if (!t) throw new Error("no tray");
    return t;
  }
  windowsOf(kind: WindowSpec["kind"]): FakeWindow[] {
    return this.windows.filter((w) => w.spec.kind === kind);
  }
}
