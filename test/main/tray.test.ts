import { describe, expect, it } from "vitest";
import { decodePng } from "../../src/main/icon/png.js";
import { renderTrayIcon } from "../../src/main/icon/tray-icon.js";
import { TrayController } from "../../src/main/tray.js";
import type { ServerStatus, TrayActions } from "../../src/main/tray-model.js";
import { FakePlatform } from "./fake-platform.js";
import { NOW, view } from "./helpers.js";

const noop: TrayActions = { copy: () => {}, togglePause: () => {}, openManager: () => {}, openSignIn: () => {}, openLogs: () => {}, setStartAtLogin: () => {}, quit: () => {} };

function controller(p: FakePlatform, server: ServerStatus = { baseUrl: "http://127.0.0.1:8000", port: 8000, requestedPort: null, paused: false }) {
  let opened = 0;
  const c = new TrayController(p, () => server, { ...noop, openManager: () => opened++ }, () => false);
  c.create(NOW);
  return { c, opened: () => opened, server };
}

describe("tray controller", () => {
  it("the icon follows the pool and is redrawn only when what it shows changes", () => {
    const p = new FakePlatform();
    const { c } = controller(p);
    expect(p.tray.images).toHaveLength(1); // created with the empty pool's icon
    c.update({ accounts: [view("a"), view("b")], now: NOW, requestsToday: 0 });
    expect(p.tray.images).toHaveLength(2);
    const good = decodePng(p.tray.images.at(-1)!.png1x);
    expect(Buffer.from(good.data)).toEqual(Buffer.from(renderTrayIcon({ health: "good", share: 1, attention: false }, "light", 16).data));
    c.update({ accounts: [view("a"), view("b")], now: NOW + 2000, requestsToday: 3 }); // same icon, new menu text
    expect(p.tray.images).toHaveLength(2);
    expect(p.tray.item("requests-today")!.label).toBe("3 requests today");
    c.update({ accounts: [view("a"), view("b", { status: "cooling", effectiveStatus: "cooling", usable: false, cooldownUntil: NOW + 60_000 })], now: NOW + 4000, requestsToday: 3 });
    expect(p.tray.images).toHaveLength(3);
    expect(Buffer.from(decodePng(p.tray.images.at(-1)!.png2x).data)).toEqual(Buffer.from(renderTrayIcon({ health: "cooling", share: 0.5, attention: false }, "light", 32).data));
  });

  it("menu and tooltip are set again only when their text changed", () => {
    const p = new FakePlatform();
    const { c } = controller(p);
    const input = { accounts: [view("a")], now: NOW, requestsToday: 1 };
    c.update(input);
    const menus = p.tray.menus.length, tips = p.tray.tooltips.length;
    c.update({ ...input, now: NOW + 1000 });
    expect([p.tray.menus.length, p.tray.tooltips.length]).toEqual([menus, tips]);
  });

  it("a theme change redraws the icon for the new theme; macOS gets a template image", () => {
    const p = new FakePlatform();
    const { c } = controller(p);
    c.update({ accounts: [view("a")], now: NOW, requestsToday: 0 });
    const before = p.tray.images.length;
    p.setTheme(true);
    expect(p.tray.images.length).toBe(before + 1);
    expect(Buffer.from(decodePng(p.tray.images.at(-1)!.png1x).data)).toEqual(Buffer.from(renderTrayIcon({ health: "good", share: 1, attention: false }, "dark", 16).data));
    const mac = new FakePlatform();
    mac.os = "darwin";
    controller(mac);
    expect(mac.tray.images[0]!.template).toBe(true);
  });

  it("clicking the tray opens the manager; extra attention lights the dot", () => {
    const p = new FakePlatform();
    const { c, opened } = controller(p);
    p.tray.clickFns[0]!();
    expect(opened()).toBe(1);
    c.update({ accounts: [view("a")], now: NOW, requestsToday: 0 });
    c.setAttention([{ fix: "open-signin", text: "Cloudflare blocked grok.com — sign in once" }]);
    expect(c.model!.attention.map((a) => a.text)).toEqual(["Cloudflare blocked grok.com — sign in once"]);
    expect(p.tray.item("attention:0")!.label).toBe("⚠ Cloudflare blocked grok.com — sign in once");
    const center = decodePng(p.tray.images.at(-1)!.png1x);
    expect(center.data[(8 * 16 + 8) * 4 + 3]).toBe(255); // the dot
    c.destroy();
    expect(p.tray.destroyed).toBe(true);
  });
});
