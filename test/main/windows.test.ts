import { describe, expect, it } from "vitest";
import { FALLBACK_CSP, MANAGER_PARTITION, ManagerWindow, SESSION_COOKIE, guardWindow, managerNavigation, permissionPolicy, secureWebPreferences, signInNavigation, withFallbackCsp } from "../../src/main/windows.js";
import { SESSION_COOKIE as SERVER_SESSION_COOKIE } from "../../src/server/admin/session-cookie.js";
import { FakePlatform, FakeWindow } from "./fake-platform.js";

describe("window security", () => {
  it("every window: isolation, sandbox, no Node, web security, no webview", () => {
    expect(secureWebPreferences("p", "/x/preload.cjs")).toEqual({
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
      partition: "p",
      preload: "/x/preload.cjs",
    });
  });

  it("the manager stays on the server; https elsewhere opens in the browser; the rest is refused", () => {
    const d = managerNavigation("http://127.0.0.1:8000");
    expect(d("http://127.0.0.1:8000/manage#/logs")).toBe("allow");
    expect(d("https://grok.com/")).toBe("external");
    expect(d("http://127.0.0.1:8001/")).toBe("deny");
    expect(d("file:///etc/passwd")).toBe("deny");
    expect(d("javascript:alert(1)")).toBe("deny");
    expect(d("not a url")).toBe("deny");
  });

  it("the sign-in window may go through grok.com's sign-in hosts only", () => {
    const d = signInNavigation("https://grok.com");
    for (const ok of ["https://grok.com/chat", "https://accounts.x.ai/sign-in", "https://x.com/i/oauth2/authorize", "https://accounts.google.com/o/oauth2", "https://appleid.apple.com/auth", "https://challenges.cloudflare.com/x"]) expect(d(ok)).toBe("allow");
    expect(d("https://grok.com.evil.example/")).toBe("external");
    expect(d("http://accounts.x.ai/")).toBe("deny");
    expect(d("data:text/html,hi")).toBe("deny");
  });

  it("permissions: denied except clipboard writes for the manager and fullscreen for sign-in", () => {
    expect(permissionPolicy("manager")("clipboard-sanitized-write", "")).toBe(true);
    for (const p of ["media", "geolocation", "notifications", "openExternal", "clipboard-read", "hid", "serial", "usb", "fullscreen"]) expect(permissionPolicy("manager")(p, "")).toBe(false);
    expect(permissionPolicy("signin")("fullscreen", "")).toBe(true);
    expect(permissionPolicy("signin")("media", "")).toBe(false);
    expect(permissionPolicy("gateway")("fullscreen", "")).toBe(false);
  });

  it("a CSP is added to the server's documents that came without one, never replacing one", () => {
    const hook = withFallbackCsp("http://127.0.0.1:8000");
    expect(hook({ url: "http://127.0.0.1:8000/manage", resourceType: "mainFrame", headers: {} })).toEqual({ "Content-Security-Policy": [FALLBACK_CSP] });
    const own = { "content-security-policy": ["default-src 'none'"] };
    expect(hook({ url: "http://127.0.0.1:8000/manage", resourceType: "mainFrame", headers: own })).toBe(own);
    expect(hook({ url: "https://grok.com/", resourceType: "mainFrame", headers: {} })).toEqual({});
    expect(hook({ url: "http://127.0.0.1:8000/x.js", resourceType: "script", headers: {} })).toEqual({});
  });

  it("guards: refused navigations stay refused, external ones open in the browser, no window is ever opened in place", async () => {
    const p = new FakePlatform();
    const w = new FakeWindow({ kind: "signin", title: "", width: 1, height: 1, show: false, webPreferences: secureWebPreferences("x") });
    guardWindow(p, w, signInNavigation("https://grok.com"));
    expect(w.navGuard!("https://grok.com/a")).toBe("allow");
    expect(w.navGuard!("https://elsewhere.example/")).toBe("external");
    expect(w.openGuard!("https://accounts.google.com/popup")).toBe("deny"); // loaded in this window instead
    expect(w.openGuard!("https://elsewhere.example/x")).toBe("deny");
    expect(w.openGuard!("file:///x")).toBe("deny");
    await Promise.resolve();
    expect(p.opened).toEqual(["https://elsewhere.example/", "https://elsewhere.example/x"]);
    expect(w.loads).toEqual(["https://accounts.google.com/popup"]);
  });

  it("the session cookie name is the server's", () => {
    expect(SESSION_COOKIE).toBe(SERVER_SESSION_COOKIE);
  });
});

describe("manager window", () => {
  it("loads /manage with a minted session cookie, and a second show focuses the same window", async () => {
    const p = new FakePlatform();
    let minted = 0;
    const m = new ManagerWindow({ platform: p, baseUrl: () => "http://127.0.0.1:8000", mintSession: async () => `session-${++minted}`, preloadPath: "/app/out/preload/index.cjs" });
    const w = (await m.show()) as FakeWindow;
    expect(w.spec.webPreferences).toMatchObject({ partition: MANAGER_PARTITION, preload: "/app/out/preload/index.cjs", sandbox: true, contextIsolation: true, nodeIntegration: false });
    expect(w.loads).toEqual(["http://127.0.0.1:8000/manage"]);
    const s = p.session(MANAGER_PARTITION);
    expect(s.cookies.jar).toMatchObject([{ name: SESSION_COOKIE, value: "session-1", path: "/api", httpOnly: true }]);
    expect(s.permissions!("media", "")).toBe(false);
    expect(s.headerHooks).toHaveLength(1);
    expect(m.isManager(w.webContentsId)).toBe(true);
    w.minimized = true;
    const again = (await m.show("/manage#/settings")) as FakeWindow;
    expect(again).toBe(w);
    expect([w.restored, w.focused > 1, w.loads.at(-1)]).toEqual([1, true, "http://127.0.0.1:8000/manage#/settings"]);
    expect(p.windowsOf("manager")).toHaveLength(1);
    w.close();
    expect(m.handle).toBeNull();
    expect(m.isManager(w.webContentsId)).toBe(false);
  });
});
