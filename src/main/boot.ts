/**
 * The desktop app's main process, booted as a flat list of steps (BOOT_STEPS, in order):
 *
 *   singleInstance → appReady → serverHost → tray → windows → ipc → notifications → startAtLogin → quit
 *
 * Each setupX() takes the app built so far and adds one part; a step may stop the boot (a second
 * instance). Everything runs against the Platform interface, so the whole boot is tested in plain
 * Node with a fake (test/main/boot.test.ts); index.ts only supplies the Electron platform.
 *
 * The app object: desktop-app.ts. The larger steps have a module each (boot-server-host.ts,
 * boot-tray.ts, boot-windows.ts, boot-ipc.ts); the small ones are here.
 */
import { createApp, type BootDeps, type BootStep, type DesktopApp } from "./desktop-app.js";
import { setupIpc } from "./boot-ipc.js";
import { setupServerHost } from "./boot-server-host.js";
import { setupTray } from "./boot-tray.js";
import { setupWindows } from "./boot-windows.js";
import { Notifier } from "./notifications.js";

export type { BootDeps, BootStep, DesktopApp } from "./desktop-app.js";
export { setupIpc, setupServerHost, setupTray, setupWindows };

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
