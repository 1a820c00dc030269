/**
 * The desktop app object the boot steps build (boot.ts runs them): its dependencies, the parts
 * each step adds, and the two behaviours that span all parts — running a notification's fix and
 * the clean quit.
 */
import path from "node:path";
import type { Logger } from "../server/log.js";
import type { DesktopSettingsFile } from "./desktop-settings.js";
import type { DesktopEvent, FixAction, Notifier } from "./notifications.js";
import type { Platform } from "./platform.js";
import type { PoolWatcher } from "./pool-watch.js";
import type { TextCodec } from "./secret-codec.js";
import type { ServerHost, ServerModule } from "./server-host.js";
import type { SignInWindows } from "./signin-window.js";
import { type Timers, realTimers } from "./timers.js";
import type { GatewayPages } from "./transport/gateway-pages.js";
import type { PageGateway } from "./transport/page-gateway.js";
import type { TrayController } from "./tray.js";
import type { ManagerWindow } from "./windows.js";

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

export function createApp(deps: BootDeps): DesktopApp {
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
