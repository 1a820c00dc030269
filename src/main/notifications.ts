/**
 * Desktop notifications, each with a one-click fix: an account died (open the manager on it),
 * every account is cooling (says when the first frees up, and tells again when one does),
 * Cloudflare / anti-bot blocks (open the grok.com sign-in window, or the settings), the port was
 * taken (copy the new base URL), data written by a newer version (open the data folder).
 * Plans are pure (event → title, body, fixes); the Notifier applies the user's settings and
 * keeps repeats down.
 */
import { maskToken } from "../server/core/token.js";
import type { NotificationKind, NotificationSettings } from "../shared/desktop-api.js";
import { NOTIFICATION_KINDS } from "../shared/desktop-api.js";
import type { Platform } from "./platform.js";
import type { PoolEvent } from "./pool-watch.js";
import { formatDuration } from "./tray-model.js";
import { type Timers, realTimers } from "./timers.js";

export type DesktopEvent =
  | PoolEvent
  | { type: "port_taken"; requested: number; port: number; baseUrl: string }
  | { type: "newer_data"; detail: string };

export type FixAction =
  | { type: "open-manager"; account?: string }
  | { type: "open-signin"; account?: string }
  | { type: "open-settings" }
  | { type: "copy-base-url"; url: string }
  | { type: "open-data-folder" };

export interface NotificationPlan {
  kind: NotificationKind;
  /** Repeats of the same key are held back for `repeatAfterMs`. */
  key: string;
  repeatAfterMs: number;
  title: string;
  body: string;
  /** The first is what a click on the notification does. */
  fixes: Array<{ label: string; action: FixAction }>;
}

const MIN = 60_000;

function clock(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

export function planFor(e: DesktopEvent, now: number): NotificationPlan | null {
  switch (e.type) {
    case "account_dead":
      return {
        kind: "account_dead",
        key: `dead:${e.token}`,
        repeatAfterMs: 60 * MIN,
        title: `Account ${maskToken(e.token)} stopped working`,
        body: `${e.reason || "grok.com refused its cookie"}. Sign in again to refresh it, or open it in the manager.`,
        fixes: [
          { label: "Open account", action: { type: "open-manager", account: maskToken(e.token) } },
          { label: "Sign in again", action: { type: "open-signin", account: maskToken(e.token) } },
        ],
      };
    case "all_cooling":
      return {
        kind: "all_cooling",
        key: "all_cooling",
        repeatAfterMs: 10 * MIN,
        title: "All accounts are cooling down",
        body:
          e.nextUsableAt !== null && e.nextUsableAt > now
            ? `Requests wait or fail until the first frees up in ${formatDuration(e.nextUsableAt - now)} (${clock(e.nextUsableAt)}). You will be told when it does.`
            : "Requests fail until an account frees up; you will be told when one does.",
        fixes: [
          { label: "Open manager", action: { type: "open-manager" } },
          { label: "Add an account", action: { type: "open-signin" } },
        ],
      };
    case "usable_again":
      return {
        kind: "all_cooling",
        key: "usable_again",
        repeatAfterMs: 0,
        title: "Serving again",
        body: `${e.usable} account${e.usable === 1 ? " is" : "s are"} usable again.`,
        fixes: [{ label: "Open manager", action: { type: "open-manager" } }],
      };
    case "blocked":
      return e.kind === "cloudflare"
        ? {
            kind: "blocked",
            key: "blocked:cloudflare",
            repeatAfterMs: 15 * MIN,
            title: "Cloudflare is blocking requests to grok.com",
            body: "Sign in to grok.com in the app's window once: that earns a fresh clearance for this browser and IP. A proxy or the transport setting may also help.",
            fixes: [
              { label: "Open sign-in window", action: { type: "open-signin", account: maskToken(e.token) } },
              { label: "Open settings", action: { type: "open-settings" } },
            ],
          }
        : {
            kind: "blocked",
            key: "blocked:anti_bot",
            repeatAfterMs: 15 * MIN,
            title: "grok.com's anti-bot check refused a request",
            body: "Retried on another account. If it keeps happening, check the statsig setting or sign in once in the app's window.",
            fixes: [
              { label: "Open settings", action: { type: "open-settings" } },
              { label: "Open sign-in window", action: { type: "open-signin", account: maskToken(e.token) } },
            ],
          };
    case "port_taken":
      return {
        kind: "port_taken",
        key: "port_taken",
        repeatAfterMs: Infinity,
        title: `Port ${e.requested} is taken — serving on ${e.port}`,
        body: `Another program uses port ${e.requested}. Point your clients at ${e.baseUrl}/v1, or free the port and restart the app.`,
        fixes: [{ label: "Copy new base URL", action: { type: "copy-base-url", url: `${e.baseUrl}/v1` } }],
      };
    case "newer_data":
      return {
        kind: "newer_data",
        key: "newer_data",
        repeatAfterMs: Infinity,
        title: "Data from a newer version of Grok2API",
        body: `${e.detail}. This version may not understand all of it; update the app. Nothing was deleted.`,
        fixes: [{ label: "Open data folder", action: { type: "open-data-folder" } }],
      };
  }
}

export const DEFAULT_NOTIFICATION_SETTINGS: NotificationSettings = {
  enabled: true,
  kinds: Object.fromEntries(NOTIFICATION_KINDS.map((k) => [k, true])) as Record<NotificationKind, boolean>,
};

/** Validates a settings patch coming from a renderer (treated as unknown). */
export function applyNotificationPatch(current: NotificationSettings, patch: unknown): NotificationSettings {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) throw new TypeError("notification settings: expected an object");
  const p = patch as Record<string, unknown>;
  const next: NotificationSettings = { enabled: current.enabled, kinds: { ...current.kinds } };
  for (const key of Object.keys(p)) if (key !== "enabled" && key !== "kinds") throw new TypeError(`notification settings: unknown field ${key}`);
  if (p.enabled !== undefined) {
    if (typeof p.enabled !== "boolean") throw new TypeError("notification settings: enabled must be a boolean");
    next.enabled = p.enabled;
  }
  if (p.kinds !== undefined) {
    if (typeof p.kinds !== "object" || p.kinds === null || Array.isArray(p.kinds)) throw new TypeError("notification settings: kinds must be an object");
    for (const [k, v] of Object.entries(p.kinds as Record<string, unknown>)) {
      if (!(NOTIFICATION_KINDS as readonly string[]).includes(k)) throw new TypeError(`notification settings: unknown kind ${k}`);
      if (typeof v !== "boolean") throw new TypeError(`notification settings: kinds.${k} must be a boolean`);
      next.kinds[k as NotificationKind] = v;
    }
  }
  return next;
}

export class Notifier {
  private readonly lastShown = new Map<string, number>();
  /** Shown notifications are kept referenced until closed (Electron drops unreferenced ones). */
  private readonly live = new Set<{ close(): void }>();

  constructor(
    private readonly platform: Pick<Platform, "notificationsSupported" | "createNotification">,
    private readonly settings: () => NotificationSettings,
    private readonly runFix: (fix: FixAction) => void,
    private readonly timers: Timers = realTimers,
  ) {}

  /** Shows the event's notification unless it is switched off or repeated too soon; returns the plan shown. */
  handle(e: DesktopEvent): NotificationPlan | null {
    const now = this.timers.now();
    const plan = planFor(e, now);
    if (!plan) return null;
    const s = this.settings();
    if (!s.enabled || s.kinds[plan.kind] === false) return null;
    const last = this.lastShown.get(plan.key);
    if (last !== undefined && now - last < plan.repeatAfterMs) return null;
    if (!this.platform.notificationsSupported()) return null;
    this.lastShown.set(plan.key, now);
    const n = this.platform.createNotification({ title: plan.title, body: plan.body, actions: plan.fixes.map((f) => ({ label: f.label })) });
    this.live.add(n);
    n.onClick(() => {
      this.live.delete(n);
      this.runFix(plan.fixes[0]!.action);
    });
    n.onAction((i) => {
      this.live.delete(n);
      const fix = plan.fixes[i];
      if (fix) this.runFix(fix.action);
    });
    n.show();
    return plan;
  }

  closeAll(): void {
    for (const n of this.live) n.close();
    this.live.clear();
  }
}
