import { describe, expect, it, vi } from "vitest";
import { DEFAULT_NOTIFICATION_SETTINGS, Notifier, applyNotificationPatch, planFor, type FixAction } from "../../src/main/notifications.js";
import { diffPool, samplePool } from "../../src/main/pool-watch.js";
import { maskToken } from "../../src/server/core/token.js";
import type { NotificationSettings } from "../../src/shared/desktop-api.js";
import { FakePlatform } from "./fake-platform.js";
import { NOW, fakeSso, view } from "./helpers.js";

function setup(settings: NotificationSettings = structuredClone(DEFAULT_NOTIFICATION_SETTINGS)) {
  const p = new FakePlatform();
  let now = NOW;
  const fixes: FixAction[] = [];
  const n = new Notifier(p, () => settings, (f) => fixes.push(f), { now: () => now, setTimeout: () => 0, clearTimeout: () => {}, setInterval: () => 0, clearInterval: () => {} });
  return { p, n, fixes, settings, later: (ms: number) => (now += ms) };
}

describe("notifications from pool events", () => {
  it("an account died: names it (masked), click opens it in the manager, the second button signs in again", () => {
    const { p, n, fixes } = setup();
    const token = fakeSso(1);
    const before = [view(token)];
    const after = [view(token, { status: "dead", effectiveStatus: "dead", usable: false, statusReason: "logged out / cookie expired (401)" })];
    for (const e of diffPool(samplePool(before, NOW - 2000, null), samplePool(after, NOW, null), after)) n.handle(e);
    expect(p.notifications).toHaveLength(1);
    const shown = p.notifications[0]!;
    expect(shown.shown).toBe(true);
    expect(shown.spec.title).toBe(`Account ${maskToken(token)} stopped working`);
    expect(shown.spec.body).toContain("logged out / cookie expired (401)");
    expect(shown.spec.title + shown.spec.body).not.toContain(token); // never the cookie itself
    expect(shown.spec.actions.map((a) => a.label)).toEqual(["Open account", "Sign in again"]);
    shown.click();
    shown.action(1);
    expect(fixes).toEqual([
      { type: "open-manager", account: maskToken(token) },
      { type: "open-signin", account: maskToken(token) },
    ]);
  });

  it("all cooling says when the first frees up; serving again is told too", () => {
    const { p, n, fixes } = setup();
    n.handle({ type: "all_cooling", nextUsableAt: NOW + 14 * 60_000 });
    expect(p.notifications[0]!.spec.title).toBe("All accounts are cooling down");
    expect(p.notifications[0]!.spec.body).toMatch(/first frees up in 14 min \(12:14\)/);
    n.handle({ type: "usable_again", usable: 2 });
    expect(p.notifications[1]!.spec).toMatchObject({ title: "Serving again", body: "2 accounts are usable again." });
    p.notifications[0]!.action(1);
    expect(fixes).toEqual([{ type: "open-signin" }]);
  });

  it("Cloudflare blocks open the sign-in window, anti-bot ones the settings; repeats within 15 min are held back", () => {
    const { p, n, fixes, later } = setup();
    n.handle({ type: "blocked", kind: "cloudflare", token: "t1", message: "403", at: NOW });
    n.handle({ type: "blocked", kind: "cloudflare", token: "t2", message: "403", at: NOW });
    n.handle({ type: "blocked", kind: "anti_bot", token: "t1", message: "code 7", at: NOW });
    expect(p.notifications.map((x) => x.spec.title)).toEqual(["Cloudflare is blocking requests to grok.com", "grok.com's anti-bot check refused a request"]);
    p.notifications[0]!.click();
    p.notifications[1]!.click();
    expect(fixes.map((f) => f.type)).toEqual(["open-signin", "open-settings"]);
    later(15 * 60_000);
    n.handle({ type: "blocked", kind: "cloudflare", token: "t1", message: "403", at: NOW });
    expect(p.notifications).toHaveLength(3);
  });

  it("port taken copies the new base URL; newer data opens the data folder; both only once", () => {
    const { p, n, fixes } = setup();
    n.handle({ type: "port_taken", requested: 8000, port: 8001, baseUrl: "http://127.0.0.1:8001" });
    n.handle({ type: "port_taken", requested: 8000, port: 8001, baseUrl: "http://127.0.0.1:8001" });
    n.handle({ type: "newer_data", detail: "settings.json is at version 3 (this app knows 1)" });
    expect(p.notifications.map((x) => x.spec.title)).toEqual(["Port 8000 is taken — serving on 8001", "Data from a newer version of Grok2API"]);
    p.notifications[0]!.click();
    p.notifications[1]!.click();
    expect(fixes).toEqual([{ type: "copy-base-url", url: "http://127.0.0.1:8001/v1" }, { type: "open-data-folder" }]);
  });

  it("the settings switch kinds (and everything) off", () => {
    const s = applyNotificationPatch(DEFAULT_NOTIFICATION_SETTINGS, { kinds: { blocked: false } });
    const { p, n } = setup(s);
    n.handle({ type: "blocked", kind: "cloudflare", token: "t", message: "", at: NOW });
    n.handle({ type: "all_cooling", nextUsableAt: null });
    expect(p.notifications.map((x) => x.spec.title)).toEqual(["All accounts are cooling down"]);
    const off = setup(applyNotificationPatch(DEFAULT_NOTIFICATION_SETTINGS, { enabled: false }));
    off.n.handle({ type: "all_cooling", nextUsableAt: null });
    expect(off.p.notifications).toHaveLength(0);
  });

  it("settings patches from a renderer are validated field by field", () => {
    expect(() => applyNotificationPatch(DEFAULT_NOTIFICATION_SETTINGS, null)).toThrow(/object/);
    expect(() => applyNotificationPatch(DEFAULT_NOTIFICATION_SETTINGS, { enabled: "yes" })).toThrow(/boolean/);
    expect(() => applyNotificationPatch(DEFAULT_NOTIFICATION_SETTINGS, { kinds: { nope: true } })).toThrow(/unknown kind/);
    expect(() => applyNotificationPatch(DEFAULT_NOTIFICATION_SETTINGS, { evil: 1 })).toThrow(/unknown field/);
    const next = applyNotificationPatch(DEFAULT_NOTIFICATION_SETTINGS, { kinds: { port_taken: false } });
    expect(next.kinds.port_taken).toBe(false);
    expect(DEFAULT_NOTIFICATION_SETTINGS.kinds.port_taken).toBe(true); // not mutated
  });

  it("closeAll closes what is still shown", () => {
    const { p, n } = setup();
    n.handle({ type: "all_cooling", nextUsableAt: null });
    n.closeAll();
    expect(p.notifications[0]!.closed).toBe(true);
    expect(planFor({ type: "all_cooling", nextUsableAt: NOW - 1 }, NOW)!.body).toMatch(/until an account frees up/);
    vi.restoreAllMocks();
  });
});
