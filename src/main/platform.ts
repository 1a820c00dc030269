/**
 * The small interface between the desktop app's logic and Electron. Everything under src/main
 * except electron-platform.ts (and the thin index.ts) is written against this, so it runs and is
 * tested in plain Node with a fake (test/main/fake-platform.ts). electron-platform.ts implements it
 * with the real Electron API and holds no decisions of its own.
 */

/** A menu as plain data (Electron's MenuItemConstructorOptions, trimmed to what the tray uses). */
export interface MenuItemSpec {
  id?: string;
  label?: string;
  type?: "normal" | "separator" | "checkbox" | "submenu";
  enabled?: boolean;
  checked?: boolean;
  submenu?: MenuItemSpec[];
  click?: () => void;
}

/** One icon in the sizes Electron wants: PNG bytes at 1× and 2×. */
export interface IconImage {
  png1x: Buffer;
  png2x: Buffer;
  /** macOS template image (black + alpha; the system tints it for the menu bar). */
  template: boolean;
}

export interface TrayHandle {
  setImage(icon: IconImage): void;
  setToolTip(text: string): void;
  setContextMenu(items: MenuItemSpec[]): void;
  /** macOS menu-bar text next to the icon (e.g. the port when it is not 8000); "" removes it. */
  setTitle(text: string): void;
  onClick(fn: () => void): void;
  destroy(): void;
}

export type WindowKind = "manager" | "signin" | "gateway";

/** The webPreferences every window gets (see windows.ts, secureWebPreferences). */
export interface SecureWebPreferences {
  contextIsolation: true;
  sandbox: true;
  nodeIntegration: false;
  nodeIntegrationInWorker: false;
  nodeIntegrationInSubFrames: false;
  webSecurity: true;
  allowRunningInsecureContent: false;
  webviewTag: false;
  navigateOnDragDrop: false;
  spellcheck: false;
  partition: string;
  preload?: string;
}

export interface WindowSpec {
  kind: WindowKind;
  title: string;
  width: number;
  height: number;
  show: boolean;
  webPreferences: SecureWebPreferences;
}

/** What a window asks before navigating or opening a new window. */
export type NavigationDecision = "allow" | "deny" | "external";

export interface WindowHandle {
  readonly webContentsId: number;
  loadURL(url: string): Promise<void>;
  /** The URL of the top frame now. */
  currentUrl(): string;
  executeJavaScript(code: string): Promise<unknown>;
  show(): void;
  focus(): void;
  isMinimized(): boolean;
  restore(): void;
  isDestroyed(): boolean;
  close(): void;
  onClosed(fn: () => void): void;
  /** Every top-level navigation (will-navigate, will-redirect) asks this; "external" opens it in the browser instead. */
  setNavigationGuard(decide: (url: string) => NavigationDecision): void;
  /** window.open / target=_blank asks this; new windows are never created in place. */
  setWindowOpenGuard(decide: (url: string) => NavigationDecision): void;
  onDidNavigate(fn: (url: string) => void): void;
  /** Sends a message to the page's preload (used by the gateway page). */
  send(channel: string, payload: unknown): void;
}

export interface CookieInfo {
  name: string;
  value: string;
  domain: string;
  path: string;
  secure: boolean;
  httpOnly: boolean;
  /** Seconds since the epoch; undefined for session cookies. */
  expirationDate?: number;
}

export interface CookieStore {
  get(filter: { url?: string; name?: string; domain?: string }): Promise<CookieInfo[]>;
  set(cookie: { url: string; name: string; value: string; domain?: string; path?: string; secure?: boolean; httpOnly?: boolean; expirationDate?: number; sameSite?: "unspecified" | "no_restriction" | "lax" | "strict" }): Promise<void>;
  /** Calls fn on every change (set, overwrite, expiry, removal); returns an unsubscribe. */
  onChanged(fn: (cookie: CookieInfo, removed: boolean) => void): () => void;
}

export type PermissionDecider = (permission: string, requestingUrl: string) => boolean;

export interface ResponseHeadersEvent {
  url: string;
  resourceType: string;
  headers: Record<string, string[]>;
}

/** One Electron session (a partition): cookies, user agent, its own network stack. */
export interface SessionHandle {
  readonly partition: string;
  readonly cookies: CookieStore;
  getUserAgent(): string;
  setUserAgent(ua: string): void;
  /** Chromium's network stack of this session (session.fetch). */
  fetch(url: string, init: RequestInit & { bypassCustomProtocolHandlers?: boolean }): Promise<Response>;
  setProxy(proxyUrl: string | undefined): Promise<void>;
  setPermissionHandlers(decide: PermissionDecider): void;
  /** Lets main change response headers (used for the manager's CSP). */
  onHeadersReceived(fn: (e: ResponseHeadersEvent) => Record<string, string[]>): void;
  clearStorage(): Promise<void>;
}

export interface NotificationAction {
  label: string;
}

export interface NotificationSpec {
  title: string;
  body: string;
  /** Buttons (shown on macOS; elsewhere the click does the first fix). */
  actions: NotificationAction[];
  silent?: boolean;
}

export interface NotificationHandle {
  show(): void;
  onClick(fn: () => void): void;
  onAction(fn: (index: number) => void): void;
  close(): void;
}

/** safeStorage: OS-keychain-backed encryption of small secrets. */
export interface SecretBox {
  /** False when the OS offers no real keychain (e.g. Linux with only the "basic_text" fallback). */
  isAvailable(): boolean;
  encrypt(plain: string): Buffer;
  decrypt(cipher: Buffer): string;
}

/** Messages from a page's preload, with who sent them. */
export interface IpcSender {
  webContentsId: number;
  /** URL of the frame that sent the message ("" when unknown). */
  frameUrl: string;
  /** True when the sending frame is the top frame of its page. */
  mainFrame: boolean;
}

export interface IpcMainLike {
  handle(channel: string, fn: (sender: IpcSender, args: unknown[]) => Promise<unknown>): void;
  /** Fire-and-forget messages (ipcRenderer.send). */
  on(channel: string, fn: (sender: IpcSender, args: unknown[]) => void): void;
  removeHandler(channel: string): void;
}

export interface QuitEvent {
  preventDefault(): void;
}

export interface Platform {
  readonly os: NodeJS.Platform;
  readonly appVersion: string;
  /** Paths the app owns. */
  userDataDir(): string;
  logsDir(): string;
  /** Directory of the built app files (out/); preloads live under it. */
  appDir(): string;

  requestSingleInstanceLock(): boolean;
  onSecondInstance(fn: () => void): void;
  whenReady(): Promise<void>;
  onBeforeQuit(fn: (e: QuitEvent) => void): void;
  onWindowAllClosed(fn: () => void): void;
  quit(): void;
  /** Exits right away (after the clean-quit work is done). */
  exit(code: number): void;

  getStartAtLogin(): boolean;
  setStartAtLogin(enabled: boolean): void;

  createTray(icon: IconImage): TrayHandle;
  createWindow(spec: WindowSpec): WindowHandle;
  session(partition: string): SessionHandle;

  notificationsSupported(): boolean;
  createNotification(spec: NotificationSpec): NotificationHandle;

  writeClipboard(text: string): void;
  openExternal(url: string): Promise<void>;
  /** Opens a folder in the file manager; resolves to an error text ("" when fine). */
  openPath(path: string): Promise<string>;

  /** Dark menu bar / task bar (light icon wanted). */
  prefersDark(): boolean;
  onThemeChanged(fn: () => void): void;

  readonly secrets: SecretBox | null;
  readonly ipc: IpcMainLike;
}
