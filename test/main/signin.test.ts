import { describe, expect, it, vi } from "vitest";
import { DesktopSettingsFile } from "../../src/main/desktop-settings.js";
import { SignInWatcher, applyCapture, browserUserAgent, looksLikeSso, readSignIn, type CaptureTarget } from "../../src/main/signin.js";
import { SignInWindows } from "../../src/main/signin-window.js";
import { realTimers } from "../../src/main/timers.js";
import { tokenKey } from "../../src/main/transport/partitions.js";
import { FakeCookies, FakePlatform } from "./fake-platform.js";
import { fakeSso } from "./helpers.js";

const ORIGIN = "https://grok.com";
const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.7339.41 Safari/537.36";

function signedIn(cookies: FakeCookies, sso: string, extra: Record<string, string> = {}) {
  cookies.put({ name: "sso-rw", value: sso, domain: ".grok.com", path: "/", secure: true, httpOnly: true });
  for (const [name, value] of Object.entries(extra)) cookies.put({ name, value, domain: ".grok.com", path: "/", secure: true, httpOnly: true });
  cookies.put({ name: "sso", value: sso, domain: ".grok.com", path: "/", secure: true, httpOnly: true });
}

function target(opts: { existing?: string[]; syncFails?: boolean } = {}) {
  const added: string[] = [];
  const synced: string[] = [];
  const updates: unknown[] = [];
  const grok = { cf_clearance: "", user_agent: "old UA" };
  const t: CaptureTarget = {
    pool: {
      add: async (tokens) => {
        const fresh = tokens.filter((x) => !(opts.existing ?? []).includes(x));
        added.push(...fresh);
        return { added: fresh, existing: tokens.filter((x) => !fresh.includes(x)) };
      },
      syncOne: async (token) => {
        synced.push(token);
        if (opts.syncFails) throw new Error("grok.com said 401");
      },
    },
    settings: {
      value: { grok },
      update: async (patch) => {
        updates.push(patch);
        Object.assign(grok, patch.grok);
      },
    },
  };
  return { t, added, synced, updates, grok };
}

describe("sign-in capture from the session's cookies", () => {
  it("reads sso, sso-rw, the Cloudflare cookies and the user agent once signed in", async () => {
    const c = new FakeCookies();
    expect(await readSignIn(c, ORIGIN, UA)).toBeNull();
    const sso = fakeSso(1);
    signedIn(c, sso, { cf_clearance: "clear-123", __cf_bm: "bm-9" });
    c.put({ name: "sso", value: "other-site", domain: "example.com", path: "/", secure: true, httpOnly: true });
    expect(await readSignIn(c, ORIGIN, UA)).toEqual({ sso, ssoRw: sso, cfClearance: "clear-123", cloudflareCookies: "cf_clearance=clear-123; __cf_bm=bm-9", userAgent: UA });
  });

  it("ignores a cookie that is not a signed-in sso", async () => {
    const c = new FakeCookies();
    c.put({ name: "sso", value: "pending", domain: ".grok.com", path: "/", secure: true, httpOnly: true });
    expect(await readSignIn(c, ORIGIN, UA)).toBeNull();
    expect(looksLikeSso(fakeSso(2))).toBe(true);
    expect(looksLikeSso("a.b.c")).toBe(false);
  });

  it("the watcher captures when the sso cookie appears (debounced), once per value, and stops listening on dispose", async () => {
    vi.useFakeTimers();
    try {
      const c = new FakeCookies();
      const onCapture = vi.fn();
      const w = new SignInWatcher(c, ORIGIN, () => UA, onCapture, { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) }, 400);
      w.start();
      await vi.advanceTimersByTimeAsync(10);
      expect(onCapture).not.toHaveBeenCalled();
      const sso = fakeSso(3);
      signedIn(c, sso, { cf_clearance: "cc" });
      await vi.advanceTimersByTimeAsync(399);
      expect(onCapture).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(1);
      await w.check();
      expect(onCapture).toHaveBeenCalledTimes(1);
      expect(onCapture.mock.calls[0]![0]).toMatchObject({ sso, cfClearance: "cc", userAgent: UA });
      c.put({ name: "cf_clearance", value: "cc2", domain: ".grok.com", path: "/", secure: true, httpOnly: true });
      await vi.advanceTimersByTimeAsync(500);
      await w.check();
      expect(onCapture).toHaveBeenCalledTimes(1); // same account
      const sso2 = fakeSso(4);
      signedIn(c, sso2);
      await vi.advanceTimersByTimeAsync(500);
      await w.check();
      expect(onCapture).toHaveBeenCalledTimes(2); // another account signed in in the same window
      w.dispose();
      expect(c.listenerCount).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("adds a new account, makes the clearance and the session's UA the server's, and verifies it", async () => {
    const { t, added, synced, updates } = target();
    const sso = fakeSso(5);
    const r = await applyCapture({ sso, ssoRw: sso, cfClearance: "cc", cloudflareCookies: "cf_clearance=cc; __cf_bm=b", userAgent: UA }, t);
    expect(r).toEqual({ token: sso, added: true, verified: true, error: null, clearanceUpdated: true });
    expect(added).toEqual([sso]);
    expect(synced).toEqual([sso]);
    expect(updates).toEqual([{ grok: { cf_clearance: "cf_clearance=cc; __cf_bm=b", user_agent: UA } }]);
  });

  it("refreshes an account already in the pool; without a clearance the settings stay; a refused cookie is reported", async () => {
    const sso = fakeSso(6);
    const { t, added, synced, updates } = target({ existing: [sso], syncFails: true });
    const r = await applyCapture({ sso, ssoRw: null, cfClearance: null, cloudflareCookies: "", userAgent: UA }, t);
    expect(r).toMatchObject({ added: false, verified: false, error: "grok.com said 401", clearanceUpdated: false });
    expect(added).toEqual([]);
    expect(synced).toEqual([sso]);
    expect(updates).toEqual([]);
  });

  it("Electron's user agent loses its Electron and app tokens", () => {
    expect(browserUserAgent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) grok2api-desktop/0.1.0 Chrome/140.0.7339.41 Electron/45.4.1 Safari/537.36")).toBe(UA);
  });
});

describe("sign-in windows", () => {
  it("a window of its own partition loads grok.com, captures, remembers the partition for the account and closes", async () => {
    const p = new FakePlatform();
    const settings = new DesktopSettingsFile(p.userDataDir());
    const { t } = target();
    const results: unknown[] = [];
    const w = new SignInWindows({ platform: p, upstreamOrigin: () => ORIGIN, target: () => t, settings, findToken: () => null, onResult: (r) => results.push(r), onError: (e) => results.push(e), timers: realTimers });
    const win = await w.show();
    const fake = p.windowsOf("signin")[0]!;
    expect(win.webContentsId).toBe(fake.webContentsId);
    expect(fake.loads).toEqual(["https://grok.com/"]);
    const partition = fake.spec.webPreferences.partition;
    expect(partition).toMatch(/^persist:grok2api-signin-[0-9a-f]{16}$/);
    expect(fake.spec.webPreferences).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false });
    expect(fake.spec.webPreferences.preload).toBeUndefined(); // grok.com gets no bridge at all
    const s = p.session(partition);
    expect(s.getUserAgent()).not.toMatch(/Electron|grok2api/);
    expect(s.permissions!("geolocation", ORIGIN)).toBe(false);
    expect(fake.navGuard!("https://accounts.x.ai/sign-in")).toBe("allow");
    expect(fake.navGuard!("https://evil.example/")).toBe("external");
    const sso = fakeSso(7);
    signedIn(s.cookies, sso, { cf_clearance: "cc" });
    await vi.waitFor(() => expect(fake.destroyed).toBe(true));
    expect(results).toHaveLength(1);
    expect(settings.value.partitions[tokenKey(sso)]).toBe(partition);
    expect(w.count).toBe(0);
    // a refresh of that account reuses its partition
    expect(new SignInWindows({ platform: p, upstreamOrigin: () => ORIGIN, target: () => t, settings, findToken: () => sso, onResult: () => {}, onError: () => {}, timers: realTimers }).partitionFor("masked")).toBe(partition);
  });

  it("a cookie grok.com refuses leaves the window open for a fresh sign-in", async () => {
    const p = new FakePlatform();
    const settings = new DesktopSettingsFile(p.userDataDir());
    const { t } = target({ syncFails: true });
    const results: Array<{ verified: boolean }> = [];
    const w = new SignInWindows({ platform: p, upstreamOrigin: () => ORIGIN, target: () => t, settings, findToken: () => null, onResult: (r) => results.push(r), onError: () => {}, timers: realTimers });
    await w.show();
    const fake = p.windowsOf("signin")[0]!;
    signedIn(p.session(fake.spec.webPreferences.partition).cookies, fakeSso(8));
    await vi.waitFor(() => expect(results).toHaveLength(1));
    expect(results[0]!.verified).toBe(false);
    expect(fake.destroyed).toBe(false);
    w.closeAll();
    expect(fake.destroyed).toBe(true);
  });
});
