/** Boot step windows: the manager window and the sign-in windows (a captured account is announced). */
import path from "node:path";
import { maskToken } from "../server/core/token.js";
import type { DesktopApp } from "./desktop-app.js";
import type { CaptureResult } from "./signin.js";
import { SignInWindows } from "./signin-window.js";
import { ManagerWindow } from "./windows.js";

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
