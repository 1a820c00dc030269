/**
 * The desktop app's main process, booted as a flat list of steps (BOOT_STEPS, in order):
 *
 *   singleInstance → appReady → serverHost → tray → windows → ipc → notifications → startAtLogin → quit
 *
 * Each setupX() takes the app built so far and adds one part; a step may stop the boot (a second
 * instance). Everything runs against the Platform interface, so the whole boot is tested in plain
 * Node with a fake (test/main/boot.test.ts); index.ts only supplies the Electron platform.
 */
import path from "node:path";
import { maskToken } from "../server/core/token.js";
import type { Logger } from "../server/log.js";
import type { ServerInfo } from "../shared/desktop-api.js";
import { newerDataFound } from "./data-version.js";
import { DesktopSettingsFile } from "./desktop-settings.js";
import { assertArgs, externalUrlOk, IpcRefused, registerDesktopApi, type DesktopApiHandlers } from "./ipc.js";
import { fileLineWriter } from "./log-file.js";
import { applyNotificationPatch, Notifier, type DesktopEvent, type FixAction } from "./notifications.js";
import type { Platform } from "./platform.js";
import { PoolWatcher } from "./pool-watch.js";
import { codecFor, unreadableSealedFiles, type TextCodec } from "./secret-codec.js";
import { ServerHost, type ServerModule, type StartOptions } from "./server-host.js";
import type { CaptureResult } from "./signin.js";
import { SignInWindows } from "./signin-window.js";
import { type Timers, realTimers } from "./timers.js";
import { ChromiumTransport } from "./transport/chromium-http.js";
import { GatewayPages } from "./transport/gateway-pages.js";
import { PageGateway } from "./transport/page-gateway.js";
import { PartitionMap } from "./transport/partitions.js";
import { TrayController } from "./tray.js";
import type { Attention } from "./tray-model.js";
import { ManagerWindow } from "./windows.js";

export interface BootDeps {
  platform: Platform;
  server: ServerModule;
  env?: NodeJS.ProcessEnv;
  timers?: Timers;
  /** Log lines also go here (default: stderr). */
  echo?: (line: string) => void;
  /** Ceiling for the clean quit before the app exits anyway. Default 8 s. */
  quitTimeoutMs?: number;
}

/** The app as the steps build it (fields are set by the step named next to them). */
export interface DesktopApp {
  readonly deps: BootDeps;
  readonly platform: Platform;
  readonly timers: Timers;
  /** Steps done, in order. */
  readonly steps: string[];
  log: Logger; // serverHost
  settings: DesktopSettingsFile; // serverHost
  codec: TextCodec | null; // serverHost
  host: ServerHost; // serverHost
  /** Why the server is not running (null when it is). */
  problem: string | null; // serverHost
  /** Events that happened before notifications were set up. */
  pending: DesktopEvent[];
  pageGateway: PageGateway | null; // serverHost
  gatewayPages: GatewayPages | null; // serverHost
  tray: TrayController; // tray
  watcher: PoolWatcher | null; // tray
  manager: ManagerWindow; // windows
  signIn: SignInWindows; // windows
  notifier: Notifier; // notifications
  quitting: Promise<void> | null; // quit
  /** Runs a notification's fix. */
  fix(action: FixAction): void;
  /** The clean quit: also what the before-quit handler runs. */
  shutdown(): Promise<void>;
}

export type BootStep = (app: DesktopApp) => Promise<"stop" | void> | "stop" | void;

// ---------------------------------------------------------------------------- steps

export function setupSingleInstance(app: DesktopApp): "stop" | void {
  if (!app.platform.requestSingleInstanceLock()) {
    app.platform.quit();
    return "stop";
  }
  // a second launch focuses the manager (once windows exist)
  app.platform.onSecondInstance(() => void app.manager?.show().catch((err) => app.log?.warn("could not show the manager", { err })));
}

export async function setupAppReady(app: DesktopApp): Promise<void> {
  await app.platform.whenReady();
  app.platform.onWindowAllClosed(() => {
    /* a tray app: closing the windows does not quit */
  });
}

export async function setupServerHost(app: DesktopApp): Promise<void> {
  const p = app.platform;
  const dataDir = path.join(p.userDataDir(), "data");
  app.settings = new DesktopSettingsFile(p.userDataDir());
  const env = app.deps.env ?? process.env;
  const write = fileLineWriter(p.logsDir(), { echo: app.deps.echo ?? ((l) => process.stderr.write(l + "\n")) });
  app.log = app.deps.server.createLogger((env.LOG_LEVEL as "info") || "info", "", write);
  app.codec = codecFor(p.secrets);
  app.log.info(app.codec ? "data files are sealed with the OS keychain" : "no OS keychain: data files stay plain (as in the headless server)");

  const start: Omit<StartOptions, "listen" | "log"> = app.codec ? { storeCodec: app.codec } : {};
  if (app.settings.value.upstream === "chromium") {
    const partitions = new PartitionMap(() => app.settings.value.partitions);
    const forToken = (t: string | null) => partitions.forToken(t);
    const http = new ChromiumTransport((partition) => p.session(partition), forToken);
    const gatewayPages = new GatewayPages(p, path.join(p.appDir(), "preload", "gateway.cjs"), (partition, ev) => app.pageGateway?.onPageEvent(partition, ev));
    app.gatewayPages = gatewayPages;
    app.pageGateway = new PageGateway({
      page: (partition, origin, ua) => gatewayPages.page(partition, origin, ua),
      cookies: (partition) => p.session(partition).cookies,
      setProxy: (partition, url) => p.session(partition).setProxy(url),
      probe: async (partition, url) => {
        const r = await p.session(partition).fetch(url, { method: "GET", redirect: "manual", credentials: "include", cache: "no-store" });
        return { status: r.status, headers: r.headers, body: (await r.text()).slice(0, 64 * 1024) };
      },
      partitionFor: forToken,
      setTimeout: (fn, ms) => app.timers.setTimeout(fn, ms),
      clearTimeout: (h) => app.timers.clearTimeout(h),
    });
    start.upstream = { http, gatewaySocket: app.pageGateway.factory };
  }
  app.host = new ServerHost({ server: app.deps.server, dataDir, env, log: app.log, start });

  const sealed = unreadableSealedFiles(dataDir, app.codec);
  if (sealed.length) {
    app.problem = `the data files ${sealed.join(", ")} are sealed with a keychain this session cannot open; the server was not started (nothing was changed)`;
    app.log.error(app.problem);
    return;
  }
  const newer = newerDataFound(dataDir, { settings: app.deps.server.SETTINGS_VERSION, accounts: 1, kv: 1 }, app.codec);
  try {
    await app.host.start();
  } catch (err) {
    app.problem = `the server did not start: ${(err as Error).message}`;
    app.log.error(app.problem, { err });
    return;
  }
  const problems = app.host.requireRunning().deps.store.problems ?? [];
  for (const problem of problems) if (/newer/i.test(problem)) newer.push(problem);
  if (newer.length) app.pending.push({ type: "newer_data", detail: newer.join("; ") });
  if (app.host.requestedPort !== null) app.pending.push({ type: "port_taken", requested: app.host.requestedPort, port: app.host.port, baseUrl: app.host.baseUrl });
}

export function setupTray(app: DesktopApp): void {
  const p = app.platform;
  app.tray = new TrayController(
    p,
    () => ({ baseUrl: app.host.baseUrl, port: app.host.port, requestedPort: app.host.requestedPort, paused: app.host.paused }),
    {
      copy: (text) => p.writeClipboard(text),
      togglePause: () => {
        if (app.host.paused) app.host.resume();
        else app.host.pause();
        app.tray.refresh();
      },
      openManager: () => app.fix({ type: "open-manager" }),
      openSignIn: () => app.fix({ type: "open-signin" }),
      openLogs: () => void p.openPath(p.logsDir()),
      setStartAtLogin: (on) => {
        p.setStartAtLogin(on);
        app.settings.update((s) => ({ ...s, startAtLogin: on }));
        app.tray.refresh();
      },
      quit: () => p.quit(),
    },
    () => p.getStartAtLogin(),
  );
  app.tray.create(app.timers.now());
  if (app.problem) {
    app.tray.setAttention([{ fix: "open-manager", text: app.problem.length > 90 ? app.problem.slice(0, 89) + "…" : app.problem }]);
    return;
  }
  const running = app.host.requireRunning();
  app.watcher = new PoolWatcher(
    { list: () => running.deps.pool.list(), nextResetAt: () => running.deps.pool.nextResetAt() },
    {
      onSample: (s) => app.tray.update(s),
      onEvents: (events) => {
        for (const e of events) {
          if (e.type === "blocked") setBlocked(app, e.kind);
          if (app.notifier) app.notifier.handle(e);
          else app.pending.push(e);
        }
      },
    },
    { timers: app.timers, savedCount: app.settings.value.requestsToday },
  );
  app.watcher.start();
}

/** A Cloudflare / anti-bot block lights the tray's dot for 30 minutes. */
function setBlocked(app: DesktopApp, kind: "cloudflare" | "anti_bot"): void {
  const item: Attention = { fix: kind === "cloudflare" ? "open-signin" : "open-manager", text: kind === "cloudflare" ? "Cloudflare blocked grok.com — sign in once" : "grok.com anti-bot refusals — check settings" };
  app.tray.setAttention([item]);
  app.timers.setTimeout(() => app.tray.setAttention([]), 30 * 60_000);
}

export function setupWindows(app: DesktopApp): void {
  const p = app.platform;
  app.manager = new ManagerWindow({
    platform: p,
    baseUrl: () => app.host.baseUrl,
    mintSession: () => app.host.mintSession(),
    preloadPath: path.join(p.appDir(), "preload", "index.cjs"),
  });
  app.signIn = new SignInWindows({
    platform: p,
    upstreamOrigin: () => app.host.runtime?.upstreamUrl ?? "https://grok.com",
    target: () => {
      const d = app.host.requireRunning().deps;
      return { pool: d.pool, settings: d.settings };
    },
    settings: app.settings,
    findToken: (masked) => app.host.running?.deps.pool.list().find((a) => maskToken(a.token) === masked)?.token ?? null,
    onResult: (r) => signInDone(app, r),
    onError: (err) => app.log.warn("sign-in capture failed", { err }),
    timers: app.timers,
  });
}

function signInDone(app: DesktopApp, r: CaptureResult): void {
  app.log.info("account captured from the sign-in window", { account: maskToken(r.token), added: r.added, verified: r.verified, clearance: r.clearanceUpdated });
  app.watcher?.poke();
  if (!app.platform.notificationsSupported()) return;
  const n = app.platform.createNotification({
    title: r.added ? "Account added" : "Account refreshed",
    body: r.verified ? `${maskToken(r.token)} is signed in and serving.` : `${maskToken(r.token)} was saved, but grok.com did not confirm it yet (${r.error ?? "no answer"}).`,
    actions: [],
  });
  n.onClick(() => app.fix({ type: "open-manager", account: maskToken(r.token) }));
  n.show();
}

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

export function setupNotifications(app: DesktopApp): void {
  app.notifier = new Notifier(app.platform, () => app.settings.value.notifications, (fix) => app.fix(fix), app.timers);
  for (const e of app.pending.splice(0)) app.notifier.handle(e);
}

export function setupStartAtLogin(app: DesktopApp): void {
  // The app's choice is re-applied at each start (an updated or moved app must register its new path).
  const want = app.settings.value.startAtLogin;
  if (want === null) return;
  app.platform.setStartAtLogin(want);
  app.tray.refresh();
}

export function setupQuit(app: DesktopApp): void {
  let done = false;
  app.platform.onBeforeQuit((e) => {
    if (done) return;
    e.preventDefault();
    void app.shutdown().finally(() => {
      done = true;
      app.platform.exit(0);
    });
  });
}

export const BOOT_STEPS: ReadonlyArray<readonly [string, BootStep]> = [
  ["singleInstance", setupSingleInstance],
  ["appReady", setupAppReady],
  ["serverHost", setupServerHost],
  ["tray", setupTray],
  ["windows", setupWindows],
  ["ipc", setupIpc],
  ["notifications", setupNotifications],
  ["startAtLogin", setupStartAtLogin],
  ["quit", setupQuit],
];

// ---------------------------------------------------------------------------- the app object

function createApp(deps: BootDeps): DesktopApp {
  const timers = deps.timers ?? realTimers;
  const app = {
    deps,
    platform: deps.platform,
    timers,
    steps: [] as string[],
    problem: null as string | null,
    pending: [] as DesktopEvent[],
    pageGateway: null as PageGateway | null,
    gatewayPages: null as GatewayPages | null,
    watcher: null as PoolWatcher | null,
    quitting: null as Promise<void> | null,
    codec: null as TextCodec | null,
  } as DesktopApp;

  app.fix = (action: FixAction) => {
    const p = app.platform;
    const report = (err: unknown) => app.log?.warn("could not run the fix", { action: action.type, err });
    switch (action.type) {
      case "open-manager":
        if (app.problem) void p.openPath(p.logsDir()).catch(report);
        else void app.manager.show(action.account ? `/manage#/accounts?account=${encodeURIComponent(action.account)}` : "/manage").catch(report);
        return;
      case "open-settings":
        void app.manager.show("/manage#/settings").catch(report);
        return;
      case "open-signin":
        void app.signIn.show(action.account).catch(report);
        return;
      case "copy-base-url":
        p.writeClipboard(action.url);
        return;
      case "open-data-folder":
        void p.openPath(path.join(p.userDataDir(), "data")).catch(report);
        return;
    }
  };

  app.shutdown = () => {
    app.quitting ??= (async () => {
      app.watcher?.stop();
      if (app.watcher && app.settings) app.settings.update((s) => ({ ...s, requestsToday: app.watcher!.requests.value }));
      app.notifier?.closeAll();
      app.signIn?.closeAll();
      app.manager?.close();
      app.gatewayPages?.closeAll();
      const ceiling = deps.quitTimeoutMs ?? 8000;
      let timer: unknown = null;
      await Promise.race([
        app.host?.close().catch((err) => app.log?.error("server close failed", { err })),
        new Promise<void>((resolve) => {
          timer = timers.setTimeout(() => {
            app.log?.warn("clean quit took too long; exiting anyway", { ms: ceiling });
            resolve();
          }, ceiling);
        }),
      ]);
      timers.clearTimeout(timer);
      app.tray?.destroy();
    })();
    return app.quitting;
  };
  return app;
}

/** Runs BOOT_STEPS in order; null when a step stopped the boot (another instance is running). */
export async function boot(deps: BootDeps, steps: ReadonlyArray<readonly [string, BootStep]> = BOOT_STEPS): Promise<DesktopApp | null> {
  const app = createApp(deps);
  for (const [name, step] of steps) {
    const r = await step(app);
    if (r === "stop") return null;
    app.steps.push(name);
  }
  return app;
}
