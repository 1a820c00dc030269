import { describe, expect, it, vi } from "vitest";
import type { MenuItemSpec } from "../../src/main/platform.js";
import { menuShape } from "../../src/main/tray.js";
import { TOOLTIP_MAX, buildTrayModel, formatBucket, formatDuration, iconStateOf, summarizeBuckets, trayMenu, trayTooltip, type ServerStatus, type TrayActions } from "../../src/main/tray-model.js";
import { NOW, bucket, view } from "./helpers.js";

const SERVER: ServerStatus = { baseUrl: "http://127.0.0.1:8000", port: 8000, requestedPort: null, paused: false };

function actions() {
  return {
    copy: vi.fn((_text: string) => {}),
    togglePause: vi.fn(() => {}),
    openManager: vi.fn(() => {}),
    openSignIn: vi.fn(() => {}),
    openLogs: vi.fn(() => {}),
    setStartAtLogin: vi.fn((_on: boolean) => {}),
    quit: vi.fn(() => {}),
  } satisfies TrayActions;
}

const labels = (items: MenuItemSpec[]) => items.filter((i) => i.type !== "separator").map((i) => i.label);
const byId = (items: MenuItemSpec[], id: string): MenuItemSpec => {
  for (const i of items) {
    if (i.id === id) return i;
    const s = i.submenu?.find((x) => x.id === id);
    if (s) return s;
  }
  throw new Error(`no menu item ${id}`);
};

const POOL = [
  view("a1", { quota: { fast: bucket(100, 160), expert: bucket(20, 40, "estimated") } }),
  view("a2", { quota: { fast: bucket(60, 160), expert: bucket(0, 40, "confirmed", NOW + 25 * 60_000), heavy: bucket(null, null, "unknown") } }),
  view("a3", { status: "cooling", effectiveStatus: "cooling", usable: false, cooldownUntil: NOW + 12 * 60_000, quota: { fast: bucket(0, 160, "confirmed", NOW + 40 * 60_000) } }),
  view("a4", { status: "dead", effectiveStatus: "dead", usable: false, statusReason: "logged out", quota: { fast: bucket(160, 160) } }),
  view("a5", { status: "disabled", effectiveStatus: "disabled", usable: false }),
];

describe("tray model", () => {
  it("counts usable / cooling / dead / disabled and the usable share of the accounts that can serve", () => {
    const m = buildTrayModel({ accounts: POOL, now: NOW, requestsToday: 42, server: SERVER });
    expect(m.counts).toEqual({ total: 5, usable: 2, cooling: 1, dead: 1, disabled: 1 });
    expect(m.share).toBeCloseTo(2 / 4);
    expect(m.health).toBe("cooling");
    expect(m.attention.map((a) => a.text)).toEqual(["1 account dead — open the manager"]);
    expect(iconStateOf(m)).toEqual({ health: "cooling", share: 0.5, attention: true });
  });

  it("health: good, none usable, empty, paused", () => {
    const good = buildTrayModel({ accounts: [view("a"), view("b")], now: NOW, requestsToday: 0, server: SERVER });
    expect([good.health, good.share, good.attention.length]).toEqual(["good", 1, 0]);
    const none = buildTrayModel({ accounts: [view("a", { usable: false })], now: NOW, requestsToday: 0, server: SERVER });
    expect(none.health).toBe("none");
    expect(buildTrayModel({ accounts: [], now: NOW, requestsToday: 0, server: SERVER }).health).toBe("empty");
    expect(buildTrayModel({ accounts: [view("a")], now: NOW, requestsToday: 0, server: { ...SERVER, paused: true } }).health).toBe("paused");
  });

  it("quota per bucket: sums over the accounts that can serve, with the weakest confidence, chat modes first", () => {
    const b = summarizeBuckets(POOL, NOW);
    expect(b.map((x) => x.id)).toEqual(["fast", "expert", "heavy"]);
    expect(b[0]).toMatchObject({ remaining: 160, total: 480, confidence: "confirmed", accounts: 3, resetAt: NOW + 40 * 60_000 }); // dead a4 not counted
    expect(b[1]).toMatchObject({ remaining: 20, total: 80, confidence: "estimated", resetAt: NOW + 25 * 60_000 });
    expect(b[2]).toMatchObject({ remaining: null, confidence: "unknown" });
    expect(b.map(formatBucket)).toEqual(["fast: 160 / 480 (confirmed)", "expert: ≈20 / 80 (estimated)", "heavy: unknown"]);
  });

  it("a window whose reset passed counts as full again (estimated)", () => {
    const b = summarizeBuckets([view("a", { quota: { fast: bucket(0, 50, "confirmed", NOW - 1000) } })], NOW);
    expect(b[0]).toMatchObject({ remaining: 50, total: 50, confidence: "estimated", resetAt: null });
  });

  it("next reset: the earliest cooldown end or window reset in the future", () => {
    const m = buildTrayModel({ accounts: POOL, now: NOW, requestsToday: 0, server: SERVER });
    expect(m.nextResetAt).toBe(NOW + 12 * 60_000);
  });

  it("durations read naturally", () => {
    expect(formatDuration(45_000)).toBe("45 s");
    expect(formatDuration(12 * 60_000)).toBe("12 min");
    expect(formatDuration(65 * 60_000)).toBe("1 h 05 min");
    expect(formatDuration(51 * 3600_000)).toBe("2 d 3 h");
    expect(formatDuration(-5)).toBe("0 s");
  });
});

describe("tray menu and tooltip", () => {
  it("shows counts, server, quota with confidence, next reset, requests today, attention, then the actions", () => {
    const m = buildTrayModel({ accounts: POOL, now: NOW, requestsToday: 42, server: SERVER });
    const a = actions();
    const menu = trayMenu(m, NOW, a, { startAtLogin: false });
    expect(labels(menu)).toEqual([
      "2 usable · 1 cooling · 1 dead · 1 disabled",
      "Serving on 127.0.0.1:8000",
      "fast: 160 / 480 (confirmed)",
      "expert: ≈20 / 80 (estimated)",
      "heavy: unknown",
      `Next reset in 12 min (12:12)`,
      "42 requests today",
      "⚠ 1 account dead — open the manager",
      "Copy base URL",
      "Pause serving",
      "Open manager",
      "Sign in to grok.com…",
      "Open logs folder",
      "Start at login",
      "Quit Grok2API",
    ]);
    // information lines are not clickable
    for (const id of ["counts", "server", "quota:fast", "next-reset", "requests-today"]) expect(byId(menu, id).enabled).toBe(false);
  });

  it("every action item does its job", () => {
    const m = buildTrayModel({ accounts: POOL, now: NOW, requestsToday: 0, server: SERVER });
    const a = actions();
    const menu = trayMenu(m, NOW, a, { startAtLogin: true });
    byId(menu, "copy:openai").click!();
    byId(menu, "copy:anthropic").click!();
    expect(a.copy.mock.calls).toEqual([["http://127.0.0.1:8000/v1"], ["http://127.0.0.1:8000"]]);
    byId(menu, "pause").click!();
    expect(a.togglePause).toHaveBeenCalledOnce();
    byId(menu, "manager").click!();
    byId(menu, "attention:0").click!();
    expect(a.openManager).toHaveBeenCalledTimes(2);
    byId(menu, "signin").click!();
    expect(a.openSignIn).toHaveBeenCalledOnce();
    byId(menu, "logs").click!();
    expect(a.openLogs).toHaveBeenCalledOnce();
    const sal = byId(menu, "start-at-login");
    expect([sal.type, sal.checked]).toEqual(["checkbox", true]);
    sal.click!();
    expect(a.setStartAtLogin).toHaveBeenCalledWith(false);
    byId(menu, "quit").click!();
    expect(a.quit).toHaveBeenCalledOnce();
  });

  it("paused and moved port are shown; the moved port is an attention item that copies the new URL", () => {
    const server = { baseUrl: "http://127.0.0.1:8003", port: 8003, requestedPort: 8000, paused: true };
    const m = buildTrayModel({ accounts: [view("a")], now: NOW, requestsToday: 1, server });
    const a = actions();
    const menu = trayMenu(m, NOW, a, { startAtLogin: false });
    expect(byId(menu, "server").label).toBe("Paused — 127.0.0.1:8003 answers 503");
    expect(byId(menu, "pause").label).toBe("Resume serving");
    expect(byId(menu, "requests-today").label).toBe("1 request today");
    const moved = byId(menu, "attention:0");
    expect(moved.label).toBe("⚠ Port 8000 was taken — serving on 8003");
    moved.click!();
    expect(a.copy).toHaveBeenCalledWith("http://127.0.0.1:8003/v1");
    expect(iconStateOf(m).attention).toBe(true);
  });

  it("tooltip: port, counts, countdown, requests; never beyond Windows' 127 characters", () => {
    const m = buildTrayModel({ accounts: POOL, now: NOW, requestsToday: 7, server: SERVER });
    expect(trayTooltip(m, NOW)).toBe("Grok2API :8000\n2 usable · 1 cooling · 1 dead · 1 disabled\nNext reset in 12 min\n7 requests today");
    const long = buildTrayModel({ accounts: POOL, now: NOW, requestsToday: 7, server: { ...SERVER, baseUrl: "http://x", port: 8000 } });
    long.counts = { total: 1e15, usable: 1e15, cooling: 1e15, dead: 1e15, disabled: 1e15 };
    expect(trayTooltip(long, NOW).length).toBeLessThanOrEqual(TOOLTIP_MAX);
  });

  it("an empty pool says so", () => {
    const m = buildTrayModel({ accounts: [], now: NOW, requestsToday: 0, server: SERVER });
    const menu = trayMenu(m, NOW, actions(), { startAtLogin: false });
    expect(labels(menu).slice(0, 3)).toEqual(["No accounts yet", "Serving on 127.0.0.1:8000", "Quota: not known yet"]);
    expect(menuShape(menu).length).toBe(menu.length);
  });
});
