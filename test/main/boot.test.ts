import { existsSync, readFileSync } from "node:fs";
import { createServer as createNetServer, type Server as NetServer } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BOOT_STEPS, boot, type DesktopApp } from "../../src/main/boot.js";
import { SEALED_PREFIX } from "../../src/main/secret-codec.js";
import type { ServerModule } from "../../src/main/server-host.js";
import { DESKTOP_API_CHANNELS } from "../../src/shared/desktop-api.js";
import { loadRuntimeConfig } from "../../src/server/config/env.js";
import { SETTINGS_VERSION } from "../../src/server/config/settings-schema.js";
import { createLogger } from "../../src/server/log.js";
import { startServer } from "../../src/server/server.js";
import { startFakeGrok, type FakeGrok } from "../fake-grok/index.js";
import { FakePlatform, FakeSecretBox } from "./fake-platform.js";
import { simulateGatewayPages } from "./fake-gateway-page.js";

const SERVER: ServerModule = { startServer, loadRuntimeConfig, createLogger, SETTINGS_VERSION };
const PASSWORD = "desktop-test-password";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function occupy(port: number): Promise<NetServer> {
  const s = createNetServer();
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.listen(port, "127.0.0.1", resolve);
  });
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return s;
}

async function fake(): Promise<FakeGrok> {
  const f = await startFakeGrok();
  cleanups.push(() => f.close());
  return f;
}

interface Booted {
  app: DesktopApp;
  p: FakePlatform;
}

async function bootApp(opts: { platform?: FakePlatform; env?: Record<string, string>; upstream?: FakeGrok; upstreamChoice?: "chromium" | "server" } = {}): Promise<Booted> {
  const p = opts.platform ?? new FakePlatform();
  if (opts.upstreamChoice) {
    const { mkdirSync, writeFileSync } = await import("node:fs");
    mkdirSync(p.userDataDir(), { recursive: true });
    writeFileSync(path.join(p.userDataDir(), "desktop-settings.json"), JSON.stringify({ upstream: opts.upstreamChoice }));
  }
  const env: Record<string, string> = {
    PORT: "0",
    GROK2API_ADMIN_PASSWORD: PASSWORD,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
    ...(opts.upstream ? { GROK2API_UPSTREAM_URL: opts.upstream.url, GROK2API_ASSETS_URL: opts.upstream.assetsUrl } : {}),
    ...opts.env,
  };
  const app = await boot({ platform: p, server: SERVER, env, echo: () => {} });
  if (!app) throw new Error("boot stopped");
  cleanups.push(async () => {
    await app.shutdown();
  });
  return { app, p };
}

const managerSender = (p: FakePlatform, app: DesktopApp) => ({ webContentsId: p.windowsOf("manager")[0]!.webContentsId, frameUrl: `${app.host.baseUrl}/manage`, mainFrame: true });

describe("boot", () => {
  it("runs the steps in order: single instance, ready, server, tray, windows, IPC, notifications, start at login, quit", async () => {
    const { app, p } = await bootApp({ env: { LOG_LEVEL: "info" } });
    expect(app.steps).toEqual(BOOT_STEPS.map(([name]) => name));
    expect(app.steps).toEqual(["singleInstance", "appReady", "serverHost", "tray", "windows", "ipc", "notifications", "startAtLogin", "quit"]);
    const order = p.calls.filter((c) => ["requestSingleInstanceLock", "whenReady", "createTray", "onBeforeQuit"].includes(c));
    expect(order).toEqual(["requestSingleInstanceLock", "whenReady", "createTray", "onBeforeQuit"]);
    // the server is the headless one, its data in the app's user-data folder, its log in the logs folder
    expect(app.host.running).not.toBeNull();
    expect(app.host.runtime!.dataDir).toBe(path.join(p.userDataDir(), "data"));
    expect(existsSync(path.join(p.userDataDir(), "data", "settings.json"))).toBe(true);
    expect(readFileSync(path.join(p.logsDir(), "grok2api.log"), "utf8")).toMatch(/server ready/);
    const health = await fetch(`${app.host.baseUrl}/health`);
    expect(health.status).toBe(200);
    // the tray exists and knows the server
    expect(p.tray.tooltips.at(-1)).toMatch(new RegExp(`^Grok2API :${app.host.port}\\nNo accounts yet`));
    expect(p.ipc.handlers.size).toBe(Object.keys(DESKTOP_API_CHANNELS).length);
    // no windows until asked; nothing asked of start-at-login the user never chose
    expect(p.windows).toHaveLength(0);
    expect(p.startAtLoginCalls).toEqual([]);
  });

  it("single instance: without the lock the app quits before anything else starts", async () => {
    const p = new FakePlatform();
    p.lockAvailable = false;
    const app = await boot({ platform: p, server: SERVER, env: { PORT: "0", GROK2API_ADMIN_PASSWORD: PASSWORD, LOG_LEVEL: "silent" }, echo: () => {} });
    expect(app).toBeNull();
    expect(p.calls).toEqual(["requestSingleInstanceLock", "quit"]);
    expect(existsSync(path.join(p.userDataDir(), "data"))).toBe(false);
  });

  it("a second launch focuses the manager window (one window, re-focused)", async () => {
    const { app, p } = await bootApp();
    p.launchSecondInstance();
    await vi.waitFor(() => expect(p.windowsOf("manager")[0]?.loads).toEqual([`${app.host.baseUrl}/manage`]));
    const w = p.windowsOf("manager")[0]!;
    const focused = w.focused;
    p.launchSecondInstance();
    await vi.waitFor(() => expect(w.focused).toBeGreaterThan(focused));
    expect(p.windowsOf("manager")).toHaveLength(1);
  });

  it("port fallback: 8000-style port taken → the next free one, shown in the tray and announced", async () => {
    const port = await freePort();
    await occupy(port);
    const { app, p } = await bootApp({ env: { PORT: String(port) } });
    expect(app.host.port).toBeGreaterThan(port);
    expect(app.host.requestedPort).toBe(port);
    expect((await fetch(`${app.host.baseUrl}/health`)).status).toBe(200);
    expect(p.tray.tooltips.at(-1)).toMatch(new RegExp(`^Grok2API :${app.host.port}\\n`));
    expect(p.tray.titles.at(-1)).toBe(`:${app.host.port}`);
    expect(p.tray.item("server")!.label).toBe(`Serving on 127.0.0.1:${app.host.port} (${port} was taken)`);
    const n = p.notifications.find((x) => x.spec.title.startsWith(`Port ${port} is taken`));
    expect(n?.spec.title).toBe(`Port ${port} is taken — serving on ${app.host.port}`);
    n!.click();
    expect(p.clipboard).toEqual([`${app.host.baseUrl}/v1`]);
  });

  it("IPC: the manager gets server info with a working admin session; other senders are refused", async () => {
    const { app, p } = await bootApp();
    await app.manager.show();
    const info = (await p.ipc.invoke(DESKTOP_API_CHANNELS.getServerInfo, managerSender(p, app))) as { session: string; baseUrl: string; upstream: string };
    expect(info).toMatchObject({ baseUrl: app.host.baseUrl, port: app.host.port, requestedPort: null, paused: false, upstream: "chromium", appVersion: "0.1.0-test" });
    const ok = await fetch(`${app.host.baseUrl}/api/stats`, { headers: { authorization: `Bearer ${info.session}` } });
    expect(ok.status).toBe(200);
    expect((await fetch(`${app.host.baseUrl}/api/stats`)).status).toBe(401);
    // the same session went into the window's partition as its cookie
    expect(p.session("persist:grok2api-manager").cookies.jar.find((c) => c.name === "g2a_session")?.value).toBe(info.session);
    await expect(p.ipc.invoke(DESKTOP_API_CHANNELS.getServerInfo, { webContentsId: 12345, frameUrl: `${app.host.baseUrl}/manage`, mainFrame: true })).rejects.toThrow(/refused/);
    await expect(p.ipc.invoke(DESKTOP_API_CHANNELS.setStartAtLogin, managerSender(p, app), "yes")).rejects.toThrow(/boolean/);
    await expect(p.ipc.invoke(DESKTOP_API_CHANNELS.openExternal, managerSender(p, app), "file:///etc/passwd")).resolves.toBe(false);
    await expect(p.ipc.invoke(DESKTOP_API_CHANNELS.setStartAtLogin, managerSender(p, app), true)).resolves.toBe(true);
    expect(p.startAtLogin).toBe(true);
    await expect(p.ipc.invoke(DESKTOP_API_CHANNELS.setNotificationSettings, managerSender(p, app), { kinds: { blocked: false } })).resolves.toMatchObject({ enabled: true, kinds: { blocked: false } });
    expect(JSON.parse(readFileSync(path.join(p.userDataDir(), "desktop-settings.json"), "utf8"))).toMatchObject({ startAtLogin: true, notifications: { kinds: { blocked: false } } });
  });

  it("pause from the tray: the client API answers 503, the manager and /health keep working", async () => {
    const { app, p } = await bootApp();
    expect((await fetch(`${app.host.baseUrl}/v1/models`)).status).toBe(200);
    p.tray.item("pause")!.click!();
    expect(p.tray.item("pause")!.label).toBe("Resume serving");
    const paused = await fetch(`${app.host.baseUrl}/v1/models`);
    expect(paused.status).toBe(503);
    expect(((await paused.json()) as { error: { type: string } }).error.type).toBe("api_paused");
    expect((await fetch(`${app.host.baseUrl}/v1/chat/completions`, { method: "POST", body: "{}" })).status).toBe(503);
    expect((await fetch(`${app.host.baseUrl}/health`)).status).toBe(200);
    expect((await fetch(`${app.host.baseUrl}/manage`)).status).not.toBe(503);
    expect(p.tray.images.at(-1)).toBeDefined();
    p.tray.item("pause")!.click!();
    expect((await fetch(`${app.host.baseUrl}/v1/models`)).status).toBe(200);
  });

  it("start at login: the app's earlier choice is applied again at start", async () => {
    const p = new FakePlatform();
    const { mkdirSync, writeFileSync } = await import("node:fs");
    mkdirSync(p.userDataDir(), { recursive: true });
    writeFileSync(path.join(p.userDataDir(), "desktop-settings.json"), JSON.stringify({ startAtLogin: true }));
    await bootApp({ platform: p });
    expect(p.startAtLoginCalls).toEqual([true]);
    expect(p.tray.item("start-at-login")!.checked).toBe(true);
  });
});

describe("clean quit", () => {
  it("before-quit is held until streams are closed and usage is flushed to disk, then the app exits", async () => {
    const upstream = await fake();
    const { app, p } = await bootApp({ upstream, upstreamChoice: "server" });
    const pool = app.host.requireRunning().deps.pool;
    const acc = upstream.addAccount();
    await pool.add([acc.sso]);
    const lease = await pool.lease({ bucket: "", cost: 0, minTier: "basic" });
    await lease.succeed(); // batched by the store (≤ 1 s)
    // a stream in flight
    upstream.setDefault("stalled-after-first");
    const res = await fetch(`${app.host.baseUrl}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "grok-chat-fast", stream: true, messages: [{ role: "user", content: "hi" }] }) });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read();

    expect(p.fireBeforeQuit()).toBe(true); // held
    await vi.waitFor(() => expect(p.exitCodes).toEqual([0]), { timeout: 10_000 });
    // the stream ended
    const drain = async () => {
      for (;;) if ((await reader.read()).done) return "ended";
    };
    const end = await Promise.race([drain().catch(() => "ended with an error"), new Promise((r) => setTimeout(() => r("still open"), 3000))]);
    expect(end).not.toBe("still open");
    // the server is gone, usage and today's count are on disk
    await expect(fetch(`${app.host.baseUrl}/health`)).rejects.toThrow();
    const accounts = JSON.parse(readFileSync(path.join(p.userDataDir(), "data", "accounts.json"), "utf8")) as { accounts: Array<{ token: string; useCount: number }> };
    expect(accounts.accounts.find((a) => a.token === acc.sso)?.useCount).toBe(1);
    expect(JSON.parse(readFileSync(path.join(p.userDataDir(), "desktop-settings.json"), "utf8")).requestsToday.count).toBeGreaterThanOrEqual(0);
    expect(p.tray.destroyed).toBe(true);
    // a second before-quit (from exit) is let through
    expect(p.fireBeforeQuit()).toBe(false);
  });

  it("the tray's Quit goes through the same clean quit", async () => {
    const { p } = await bootApp();
    p.tray.item("quit")!.click!();
    expect(p.quitCalls).toBe(1);
    expect(p.fireBeforeQuit()).toBe(true);
    await vi.waitFor(() => expect(p.exitCodes).toEqual([0]));
  });
});

describe("secrets at rest", () => {
  it("with a keychain the data files are sealed, and open again at the next start", async () => {
    const upstream = await fake();
    const p = new FakePlatform();
    p.secrets = new FakeSecretBox();
    const first = await bootApp({ platform: p, upstream, upstreamChoice: "server" });
    const acc = upstream.addAccount();
    await first.app.host.requireRunning().deps.pool.add([acc.sso]);
    await first.app.shutdown();
    for (const f of ["accounts.json", "settings.json", "kv.json"]) {
      const text = readFileSync(path.join(p.userDataDir(), "data", f), "utf8");
      expect(text.startsWith(SEALED_PREFIX), f).toBe(true);
      expect(text).not.toContain(acc.sso);
    }
    const second = await bootApp({ platform: new FakePlatform(p.root), upstream, upstreamChoice: "server" }).catch((e) => e);
    // a new FakePlatform has no keychain: the sealed files are left alone and the server does not start
    expect((second as Booted).app.problem).toMatch(/sealed with a keychain this session cannot open/);
    expect((second as Booted).app.host.running).toBeNull();
    expect((second as Booted).p.tray.item("attention:0")?.label).toMatch(/sealed/);
    await (second as Booted).app.shutdown();
    // the same keychain opens them
    const p3 = new FakePlatform(p.root);
    p3.secrets = p.secrets;
    const third = await bootApp({ platform: p3, upstream, upstreamChoice: "server" });
    expect(third.app.host.requireRunning().deps.pool.get(acc.sso)).toBeDefined();
  });

  it("a newer version of the data is announced before this app stamps it", async () => {
    const p = new FakePlatform();
    const { mkdirSync, writeFileSync } = await import("node:fs");
    mkdirSync(path.join(p.userDataDir(), "data"), { recursive: true });
    writeFileSync(path.join(p.userDataDir(), "data", "settings.json"), JSON.stringify({ _meta: { version: SETTINGS_VERSION + 1 } }));
    await bootApp({ platform: p });
    const n = p.notifications.find((x) => x.spec.title === "Data from a newer version of Grok2API");
    expect(n?.spec.body).toContain(`settings.json is at version ${SETTINGS_VERSION + 1}`);
    n!.click();
    expect(p.openedPaths).toEqual([path.join(p.userDataDir(), "data")]);
  });
});

describe("Chromium upstream (the app's default), through the stubbed Electron sessions", () => {
  it("REST and the gateway WebSocket go through the account's partition; a chat completes", async () => {
    const upstream = await fake();
    const p = new FakePlatform();
    const { pages } = simulateGatewayPages(p);
    const { app } = await bootApp({ platform: p, upstream });
    const running = app.host.requireRunning();
    expect(running.deps.grok.transportName).toBe("chromium");
    const acc = upstream.addAccount();
    await running.deps.pool.add([acc.sso]);
    const res = await fetch(`${app.host.baseUrl}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "grok-chat-fast", messages: [{ role: "user", content: "hello" }] }) });
    const body = (await res.json()) as { choices?: Array<{ message: { content: string } }> };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.choices![0]!.message.content.length).toBeGreaterThan(0);
    // the REST calls went through session.fetch of an in-memory partition of that account
    const partitions = [...p.sessions.values()].filter((s) => s.fetches.length > 0).map((s) => s.partition);
    expect(partitions.length).toBeGreaterThan(0);
    for (const part of partitions) expect(part).toMatch(/^grok2api-upstream-/);
    // the gateway chat came from a hidden page of that partition, with the account's cookies in its jar
    expect(running.deps.settings.value.grok.chat_transport).toBe("gateway");
    {
      expect(pages).toHaveLength(1);
      expect(pages[0]!.spec).toMatchObject({ kind: "gateway", show: false });
      expect(pages[0]!.loads[0]).toBe(`${upstream.url}/robots.txt`);
      const jar = p.session(pages[0]!.spec.webPreferences.partition).cookies.jar.map((c) => c.name).sort();
      expect(jar).toEqual(expect.arrayContaining(["sso", "sso-rw", "x-userid"]));
    }
  });
});
