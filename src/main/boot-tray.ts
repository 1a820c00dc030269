/** Boot step tray: the tray icon and menu, and the pool watcher feeding it (and the notifications). */
import type { DesktopApp } from "./desktop-app.js";
import { PoolWatcher } from "./pool-watch.js";
import { TrayController } from "./tray.js";
import type { Attention } from "./tray-model.js";

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
