/**
 * The sign-in windows: one per account partition, loading grok.com with a plain Chrome user agent;
 * the SignInWatcher turns the signed-in cookies into an added or refreshed account, the window's
 * partition is remembered for that account (its Cloudflare clearance serves the Chromium
 * transport), and the window closes.
 */
import { randomBytes } from "node:crypto";
import type { DesktopSettingsFile } from "./desktop-settings.js";
import type { Platform, WindowHandle } from "./platform.js";
import { type CaptureResult, type CaptureTarget, SignInWatcher, applyCapture, browserUserAgent } from "./signin.js";
import type { Timers } from "./timers.js";
import { signInPartition, tokenKey } from "./transport/partitions.js";
import { guardWindow, hardenSession, secureWebPreferences, signInNavigation } from "./windows.js";

export interface SignInDeps {
  platform: Platform;
  upstreamOrigin: () => string;
  target: () => CaptureTarget;
  settings: DesktopSettingsFile;
  /** The full token of an account shown as `masked` (maskToken), or null. */
  findToken: (masked: string) => string | null;
  onResult: (r: CaptureResult) => void;
  onError: (err: unknown) => void;
  timers: Timers;
}

export class SignInWindows {
  private readonly open = new Map<string, { win: WindowHandle; watcher: SignInWatcher }>();

  constructor(private readonly d: SignInDeps) {}

  get count(): number {
    return this.open.size;
  }

  /** The partition for a sign-in: the account's own when it signed in here before, else a new one. */
  partitionFor(accountId?: string): string {
    const token = accountId ? this.d.findToken(accountId) : null;
    const known = token ? this.d.settings.value.partitions[tokenKey(token)] : undefined;
    return known ?? signInPartition(randomBytes(8).toString("hex"));
  }

  async show(accountId?: string): Promise<WindowHandle> {
    const partition = this.partitionFor(accountId);
    const existing = this.open.get(partition);
    if (existing && !existing.win.isDestroyed()) {
      existing.win.show();
      existing.win.focus();
      return existing.win;
    }
    const origin = this.d.upstreamOrigin();
    const s = this.d.platform.session(partition);
    hardenSession(s, "signin");
    s.setUserAgent(browserUserAgent(s.getUserAgent()));
    const win = this.d.platform.createWindow({ kind: "signin", title: "Sign in to grok.com", width: 980, height: 760, show: true, webPreferences: secureWebPreferences(partition) });
    guardWindow(this.d.platform, win, signInNavigation(origin));
    const watcher = new SignInWatcher(
      s.cookies,
      origin,
      () => s.getUserAgent(),
      async (cap) => {
        try {
          const result = await applyCapture(cap, this.d.target());
          this.d.settings.update((st) => ({ ...st, partitions: { ...st.partitions, [tokenKey(result.token)]: partition } }));
          this.d.onResult(result);
          // a cookie grok.com refused (e.g. the old one of a dead account) keeps the window open for a fresh sign-in
          if (result.verified && !win.isDestroyed()) win.close();
        } catch (err) {
          this.d.onError(err);
        }
      },
      this.d.timers,
    );
    this.open.set(partition, { win, watcher });
    win.onClosed(() => {
      watcher.dispose();
      if (this.open.get(partition)?.win === win) this.open.delete(partition);
    });
    watcher.start();
    await win.loadURL(origin + "/");
    return win;
  }

  closeAll(): void {
    for (const { win, watcher } of this.open.values()) {
      watcher.dispose();
      if (!win.isDestroyed()) win.close();
    }
    this.open.clear();
  }
}
