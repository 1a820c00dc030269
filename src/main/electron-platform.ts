/**
 * The Platform (platform.ts) on top of the real Electron API. Pass-through only: every decision
 * (what a window may load, which permission is granted, which IPC sender is trusted, what the
 * tray shows) is made by the tested modules; this file just connects them to Electron. It cannot
 * run on machines without an Electron binary, which is why it holds no logic.
 */
import path from "node:path";
import { BrowserWindow, Menu, Notification, Tray, app, clipboard, ipcMain, nativeImage, nativeTheme, safeStorage, session as electronSession, shell, type MenuItemConstructorOptions, type Session } from "electron";
import type { CookieInfo, IconImage, IpcSender, MenuItemSpec, Platform, SecretBox, SessionHandle, WindowHandle, WindowSpec } from "./platform.js";

function image(icon: IconImage): Electron.NativeImage {
  const img = nativeImage.createFromBuffer(icon.png1x, { scaleFactor: 1 });
  img.addRepresentation({ scaleFactor: 2, buffer: icon.png2x });
  if (icon.template) img.setTemplateImage(true);
  return img;
}

function menu(items: MenuItemSpec[]): MenuItemConstructorOptions[] {
  return items.map((i) => ({
    ...(i.id ? { id: i.id } : {}),
    ...(i.label !== undefined ? { label: i.label } : {}),
    type: i.type ?? "normal",
    ...(i.enabled !== undefined ? { enabled: i.enabled } : {}),
    ...(i.checked !== undefined ? { checked: i.checked } : {}),
    ...(i.submenu ? { submenu: menu(i.submenu) } : {}),
    ...(i.click ? { click: i.click } : {}),
  }));
}

function cookieInfo(c: Electron.Cookie): CookieInfo {
  return { name: c.name, value: c.value, domain: c.domain ?? "", path: c.path ?? "/", secure: !!c.secure, httpOnly: !!c.httpOnly, ...(c.expirationDate !== undefined ? { expirationDate: c.expirationDate } : {}) };
}

function sessionHandle(partition: string, s: Session): SessionHandle {
  return {
    partition,
    cookies: {
      get: async (filter) => (await s.cookies.get(filter)).map(cookieInfo),
      set: (c) => s.cookies.set(c),
      onChanged: (fn) => {
        const l = (_e: Electron.Event, c: Electron.Cookie, _cause: string, removed: boolean) => fn(cookieInfo(c), removed);
        s.cookies.on("changed", l);
        return () => s.cookies.off("changed", l);
      },
    },
    getUserAgent: () => s.getUserAgent(),
    setUserAgent: (ua) => s.setUserAgent(ua),
    fetch: (url, init) => s.fetch(url, init),
    setProxy: (proxyUrl) => s.setProxy(proxyUrl ? { proxyRules: proxyUrl } : { mode: "system" }),
    setPermissionHandlers: (decide) => {
      s.setPermissionRequestHandler((wc, permission, callback, details) => callback(decide(permission, details.requestingUrl ?? wc.getURL())));
      s.setPermissionCheckHandler((_wc, permission, requestingOrigin) => decide(permission, requestingOrigin));
      s.setDevicePermissionHandler(() => false);
    },
    onHeadersReceived: (fn) =>
      s.webRequest.onHeadersReceived((details, callback) =>
        callback({ responseHeaders: fn({ url: details.url, resourceType: details.resourceType, headers: (details.responseHeaders ?? {}) as Record<string, string[]> }) }),
      ),
    clearStorage: () => s.clearStorageData(),
  };
}

function windowHandle(win: BrowserWindow): WindowHandle {
  const wc = win.webContents;
  return {
    webContentsId: wc.id,
    loadURL: (url) => wc.loadURL(url),
    currentUrl: () => wc.getURL(),
    executeJavaScript: (code) => wc.executeJavaScript(code),
    show: () => win.show(),
    focus: () => win.focus(),
    isMinimized: () => win.isMinimized(),
    restore: () => win.restore(),
    isDestroyed: () => win.isDestroyed(),
    close: () => win.close(),
    onClosed: (fn) => void win.on("closed", fn),
    setNavigationGuard: (decide) => {
      const guard = (e: Electron.Event<{ url: string }>) => {
        if (decide(e.url) !== "allow") e.preventDefault();
      };
      wc.on("will-navigate", guard);
      wc.on("will-redirect", guard);
      wc.on("will-attach-webview", (e) => e.preventDefault());
    },
    setWindowOpenGuard: (decide) =>
      wc.setWindowOpenHandler(({ url }) => {
        decide(url);
        return { action: "deny" };
      }),
    onDidNavigate: (fn) => void wc.on("did-navigate", (_e, url) => fn(url)),
    send: (channel, payload) => wc.send(channel, payload),
  };
}

function sender(e: Electron.IpcMainEvent | Electron.IpcMainInvokeEvent): IpcSender {
  const frame = e.senderFrame;
  return { webContentsId: e.sender.id, frameUrl: frame?.url ?? "", mainFrame: !!frame && frame === e.sender.mainFrame };
}

const secrets: SecretBox = {
  // Linux without a keyring falls back to a hard-coded key ("basic_text"): that is not a secret store.
  isAvailable: () => safeStorage.isEncryptionAvailable() && (process.platform !== "linux" || safeStorage.getSelectedStorageBackend() !== "basic_text"),
  encrypt: (plain) => safeStorage.encryptString(plain),
  decrypt: (cipher) => safeStorage.decryptString(cipher),
};

export function electronPlatform(appDir: string): Platform {
  // a separate profile (the end-to-end test, a second copy of the app): must be set before ready
  if (process.env.GROK2API_USER_DATA_DIR) app.setPath("userData", path.resolve(process.env.GROK2API_USER_DATA_DIR));
  const sessions = new Map<string, SessionHandle>();
  return {
    os: process.platform,
    appVersion: app.getVersion(),
    userDataDir: () => app.getPath("userData"),
    logsDir: () => app.getPath("logs"),
    appDir: () => appDir,
    requestSingleInstanceLock: () => app.requestSingleInstanceLock(),
    onSecondInstance: (fn) => void app.on("second-instance", fn),
    whenReady: () => app.whenReady(),
    onBeforeQuit: (fn) => void app.on("before-quit", (e) => fn(e)),
    onWindowAllClosed: (fn) => void app.on("window-all-closed", fn),
    quit: () => app.quit(),
    exit: (code) => app.exit(code),
    getStartAtLogin: () => app.getLoginItemSettings().openAtLogin,
    setStartAtLogin: (enabled) => app.setLoginItemSettings({ openAtLogin: enabled }),
    createTray: (icon) => {
      const tray = new Tray(image(icon));
      return {
        setImage: (i) => tray.setImage(image(i)),
        setToolTip: (t) => tray.setToolTip(t),
        setContextMenu: (items) => tray.setContextMenu(Menu.buildFromTemplate(menu(items))),
        setTitle: (t) => {
          if (process.platform === "darwin") tray.setTitle(t);
        },
        onClick: (fn) => void tray.on("click", fn),
        destroy: () => tray.destroy(),
      };
    },
    createWindow: (spec: WindowSpec) =>
      windowHandle(
        new BrowserWindow({
          title: spec.title,
          width: spec.width,
          height: spec.height,
          show: spec.show,
          icon: path.join(appDir, "..", "resources", "icon.png"),
          autoHideMenuBar: true,
          webPreferences: { ...spec.webPreferences, safeDialogs: true, disableDialogs: spec.kind === "gateway" },
        }),
      ),
    session: (partition) => {
      let s = sessions.get(partition);
      if (!s) sessions.set(partition, (s = sessionHandle(partition, electronSession.fromPartition(partition))));
      return s;
    },
    notificationsSupported: () => Notification.isSupported(),
    createNotification: (spec) => {
      const n = new Notification({ title: spec.title, body: spec.body, silent: spec.silent ?? false, actions: spec.actions.map((a) => ({ type: "button" as const, text: a.label })) });
      return { show: () => n.show(), onClick: (fn) => void n.on("click", fn), onAction: (fn) => void n.on("action", (_e, i) => fn(i)), close: () => n.close() };
    },
    writeClipboard: (text) => clipboard.writeText(text),
    openExternal: (url) => shell.openExternal(url),
    openPath: (p) => shell.openPath(p),
    prefersDark: () => nativeTheme.shouldUseDarkColors,
    onThemeChanged: (fn) => void nativeTheme.on("updated", fn),
    secrets,
    ipc: {
      handle: (channel, fn) => ipcMain.handle(channel, (e, ...args) => fn(sender(e), args)),
      on: (channel, fn) => void ipcMain.on(channel, (e, ...args) => fn(sender(e), args)),
      removeHandler: (channel) => ipcMain.removeHandler(channel),
    },
  };
}
