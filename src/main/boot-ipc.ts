/** Boot step ipc: the desktop API the manager window's preload calls (every argument checked). */
import type { ServerInfo } from "../shared/desktop-api.js";
import type { DesktopApp } from "./desktop-app.js";
import { assertArgs, externalUrlOk, IpcRefused, registerDesktopApi, type DesktopApiHandlers } from "./ipc.js";
import { applyNotificationPatch } from "./notifications.js";

export function setupIpc(app: DesktopApp): void {
  const p = app.platform;
  const handlers: DesktopApiHandlers = {
    getServerInfo: async (...args): Promise<ServerInfo> => {
      assertArgs("getServerInfo", args, 0);
      return {
        baseUrl: app.host.baseUrl,
        port: app.host.port,
        requestedPort: app.host.requestedPort,
        session: await app.host.mintSession(),
        paused: app.host.paused,
        upstream: app.settings.value.upstream === "chromium" ? "chromium" : (app.host.runtime?.transport ?? "impit"),
        appVersion: p.appVersion,
      };
    },
    openExternal: async (...args) => {
      assertArgs("openExternal", args, 1);
      if (!externalUrlOk(args[0])) return false;
      await p.openExternal(args[0]);
      return true;
    },
    openSignIn: async (...args) => {
      assertArgs("openSignIn", args, 1);
      const id = args[0];
      if (id !== undefined && (typeof id !== "string" || id.length > 64)) throw new IpcRefused("openSignIn: accountId must be a short string");
      await app.signIn.show(id);
    },
    getNotificationSettings: async (...args) => {
      assertArgs("getNotificationSettings", args, 0);
      return structuredClone(app.settings.value.notifications);
    },
    setNotificationSettings: async (...args) => {
      assertArgs("setNotificationSettings", args, 1);
      const next = applyNotificationPatch(app.settings.value.notifications, args[0]);
      return structuredClone(app.settings.update((s) => ({ ...s, notifications: next })).notifications);
    },
    getStartAtLogin: async (...args) => {
      assertArgs("getStartAtLogin", args, 0);
      return p.getStartAtLogin();
    },
    setStartAtLogin: async (...args) => {
      assertArgs("setStartAtLogin", args, 1);
      if (typeof args[0] !== "boolean") throw new IpcRefused("setStartAtLogin: expected a boolean");
      p.setStartAtLogin(args[0]);
      app.settings.update((s) => ({ ...s, startAtLogin: args[0] as boolean }));
      app.tray.refresh();
      return p.getStartAtLogin();
    },
  };
  registerDesktopApi(
    p.ipc,
    { managerId: () => app.manager.handle?.webContentsId ?? null, origin: () => new URL(app.host.baseUrl).origin },
    handlers,
    (msg, fields) => app.log.warn(msg, fields),
  );
}
