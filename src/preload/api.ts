/**
 * The desktop API as the preload builds it: one function per verb of the shared contract, each
 * one IPC invoke on its channel. Kept free of Electron so it is tested in Node; index.ts hands
 * it to contextBridge.
 */
import { DESKTOP_API_CHANNELS, type DesktopApi } from "../shared/desktop-api.js";

export type Invoke = (channel: string, ...args: unknown[]) => Promise<unknown>;

export function createDesktopApi(invoke: Invoke): DesktopApi {
  const c = DESKTOP_API_CHANNELS;
  const api = {
    getServerInfo: () => invoke(c.getServerInfo),
    openExternal: (url: string) => invoke(c.openExternal, String(url)),
    openSignIn: (accountId?: string) => (accountId === undefined ? invoke(c.openSignIn) : invoke(c.openSignIn, String(accountId))),
    getNotificationSettings: () => invoke(c.getNotificationSettings),
    setNotificationSettings: (patch: unknown) => invoke(c.setNotificationSettings, patch),
    getStartAtLogin: () => invoke(c.getStartAtLogin),
    setStartAtLogin: (enabled: boolean) => invoke(c.setStartAtLogin, enabled === true),
  } satisfies Record<keyof DesktopApi, (...args: never[]) => Promise<unknown>>;
  return Object.freeze(api) as DesktopApi;
}
