import { describe, expect, expectTypeOf, it, vi } from "vitest";
import { IpcRefused, checkSender, externalUrlOk, registerDesktopApi, type DesktopApiHandlers } from "../../src/main/ipc.js";
import { createDesktopApi } from "../../src/preload/api.js";
import { DESKTOP_API_CHANNELS, DESKTOP_API_VERBS, type DesktopApi } from "../../src/shared/desktop-api.js";
import { FakeIpc } from "./fake-platform.js";

const ORIGIN = "http://127.0.0.1:8000";
const MANAGER = 7;
const policy = { managerId: () => MANAGER, origin: () => ORIGIN };
const good = { webContentsId: MANAGER, frameUrl: `${ORIGIN}/manage#/accounts`, mainFrame: true };

function handlers(): DesktopApiHandlers & Record<string, ReturnType<typeof vi.fn>> {
  return {
    getServerInfo: vi.fn(async () => ({ baseUrl: ORIGIN, port: 8000, requestedPort: null, session: "s", paused: false, upstream: "chromium" as const, appVersion: "0" })),
    openExternal: vi.fn(async () => true),
    openSignIn: vi.fn(async () => undefined),
    getNotificationSettings: vi.fn(),
    setNotificationSettings: vi.fn(),
    getStartAtLogin: vi.fn(async () => false),
    setStartAtLogin: vi.fn(async () => true),
  } as never;
}

describe("IPC sender checks", () => {
  it("only the manager window's top frame on the app's own server gets through", () => {
    expect(checkSender(good, policy)).toBeNull();
    expect(checkSender({ ...good, webContentsId: 99 }, policy)).toMatch(/unknown sender/);
    expect(checkSender({ ...good, mainFrame: false }, policy)).toMatch(/sub-frame/);
    expect(checkSender({ ...good, frameUrl: "https://grok.com/" }, policy)).toMatch(/not the app's server/);
    expect(checkSender({ ...good, frameUrl: "http://127.0.0.1:8001/manage" }, policy)).toMatch(/not the app's server/);
    expect(checkSender({ ...good, frameUrl: "" }, policy)).toMatch(/no valid URL/);
    expect(checkSender(good, { managerId: () => null, origin: () => ORIGIN })).toMatch(/unknown sender/); // manager closed
  });

  it("refused calls never reach a handler (nor look at their arguments), and are logged", async () => {
    const ipc = new FakeIpc();
    const h = handlers();
    const log = vi.fn();
    registerDesktopApi(ipc, policy, h, log);
    expect([...ipc.handlers.keys()].sort()).toEqual(Object.values(DESKTOP_API_CHANNELS).sort());
    const evil = { get url() { throw new Error("arguments were read"); } };
    await expect(ipc.invoke(DESKTOP_API_CHANNELS.openExternal, { ...good, webContentsId: 3 }, evil)).rejects.toThrow(IpcRefused);
    await expect(ipc.invoke(DESKTOP_API_CHANNELS.getServerInfo, { ...good, frameUrl: "https://evil.example/" })).rejects.toThrow(/refused/);
    expect(h.openExternal).not.toHaveBeenCalled();
    expect(h.getServerInfo).not.toHaveBeenCalled();
    expect(log).toHaveBeenCalledTimes(2);
    await expect(ipc.invoke(DESKTOP_API_CHANNELS.getServerInfo, good)).resolves.toMatchObject({ session: "s" });
    await ipc.invoke(DESKTOP_API_CHANNELS.openExternal, good, "https://grok.com/");
    expect(h.openExternal).toHaveBeenCalledWith("https://grok.com/");
  });

  it("external links: http(s) only, no credentials", () => {
    expect(externalUrlOk("https://grok.com/")).toBe(true);
    expect(externalUrlOk("http://localhost:3000/x")).toBe(true);
    for (const bad of ["file:///etc/passwd", "javascript:alert(1)", "ms-settings:", "https://u:p@grok.com/", 42, null, "x".repeat(3000)]) expect(externalUrlOk(bad)).toBe(false);
  });
});

describe("preload API", () => {
  it("has exactly the contract's verbs, each one invoke on its channel", async () => {
    const invoke = vi.fn(async (..._args: unknown[]) => "ok");
    const api = createDesktopApi(invoke);
    expectTypeOf(api).toEqualTypeOf<DesktopApi>();
    expect(Object.keys(api).sort()).toEqual([...DESKTOP_API_VERBS].sort());
    expect(Object.isFrozen(api)).toBe(true);
    for (const verb of DESKTOP_API_VERBS) expect(typeof api[verb]).toBe("function");
    await api.getServerInfo();
    await api.openExternal("https://grok.com/");
    await api.openSignIn();
    await api.openSignIn("abc…wxyz");
    await api.getNotificationSettings();
    await api.setNotificationSettings({ enabled: false });
    await api.getStartAtLogin();
    await api.setStartAtLogin(true);
    expect(invoke.mock.calls).toEqual([
      [DESKTOP_API_CHANNELS.getServerInfo],
      [DESKTOP_API_CHANNELS.openExternal, "https://grok.com/"],
      [DESKTOP_API_CHANNELS.openSignIn],
      [DESKTOP_API_CHANNELS.openSignIn, "abc…wxyz"],
      [DESKTOP_API_CHANNELS.getNotificationSettings],
      [DESKTOP_API_CHANNELS.setNotificationSettings, { enabled: false }],
      [DESKTOP_API_CHANNELS.getStartAtLogin],
      [DESKTOP_API_CHANNELS.setStartAtLogin, true],
    ]);
  });

  it("the preload entry exposes only that object, under the contract's name", async () => {
    const { readFileSync } = await import("node:fs");
    const src = readFileSync(new URL("../../src/preload/index.ts", import.meta.url), "utf8");
    expect(src.match(/exposeInMainWorld\(/g)).toHaveLength(1);
    expect(src).toContain("exposeInMainWorld(DESKTOP_API_GLOBAL, createDesktopApi(");
    expect(src).not.toMatch(/exposeInMainWorld\([^)]*ipcRenderer\s*[,)]/);
  });
});
