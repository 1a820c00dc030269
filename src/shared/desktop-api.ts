/**
 * The one API the desktop app's preload exposes to its windows (`window.grok2apiDesktop`), written
 * once here and used by the main process (src/main/ipc.ts), the preload (src/preload/api.ts) and
 * the manager UI. Verbs only: every member is a function returning a promise; nothing here is a
 * secret (the server session is minted by the main process for this window; account cookies, API
 * keys and passwords never cross this bridge).
 */

export type NotificationKind = "account_dead" | "all_cooling" | "blocked" | "port_taken" | "newer_data";
export const NOTIFICATION_KINDS: readonly NotificationKind[] = ["account_dead", "all_cooling", "blocked", "port_taken", "newer_data"];

export interface NotificationSettings {
  /** Master switch. */
  enabled: boolean;
  /** Per kind; a kind missing here counts as on. */
  kinds: Record<NotificationKind, boolean>;
}

export interface ServerInfo {
  /** e.g. http://127.0.0.1:8000 — what clients put as their base URL (+ /v1). */
  baseUrl: string;
  port: number;
  /** The port that was asked for when another one had to be used (it was taken), else null. */
  requestedPort: number | null;
  /** An admin session for this window, minted by the main process (send it as `Authorization: Bearer`). */
  session: string;
  /** The API is paused from the tray (the manager keeps working). */
  paused: boolean;
  /** Upstream transport the app uses: Chromium's network stack or the server's own (impit / fetch). */
  upstream: "chromium" | "impit" | "fetch";
  appVersion: string;
}

export interface DesktopApi {
  getServerInfo(): Promise<ServerInfo>;
  /** Opens an http(s) URL in the user's browser; false when the URL was refused. */
  openExternal(url: string): Promise<boolean>;
  /** Opens the grok.com sign-in window (a new account, or `accountId` = the masked id to refresh). */
  openSignIn(accountId?: string): Promise<void>;
  getNotificationSettings(): Promise<NotificationSettings>;
  setNotificationSettings(patch: { enabled?: boolean; kinds?: Partial<Record<NotificationKind, boolean>> }): Promise<NotificationSettings>;
  getStartAtLogin(): Promise<boolean>;
  setStartAtLogin(enabled: boolean): Promise<boolean>;
}

/** IPC channel of each verb (ipcRenderer.invoke / ipcMain.handle). */
export const DESKTOP_API_CHANNELS = {
  getServerInfo: "grok2api:get-server-info",
  openExternal: "grok2api:open-external",
  openSignIn: "grok2api:open-sign-in",
  getNotificationSettings: "grok2api:get-notification-settings",
  setNotificationSettings: "grok2api:set-notification-settings",
  getStartAtLogin: "grok2api:get-start-at-login",
  setStartAtLogin: "grok2api:set-start-at-login",
} as const satisfies Record<keyof DesktopApi, string>;

export type DesktopApiVerb = keyof DesktopApi;
export const DESKTOP_API_VERBS = Object.keys(DESKTOP_API_CHANNELS) as DesktopApiVerb[];

/** The global name in the renderer: `window.grok2apiDesktop`. */
export const DESKTOP_API_GLOBAL = "grok2apiDesktop";
