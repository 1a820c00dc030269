/**
 * The app's own settings (not the server's): notifications, which upstream transport to use, and
 * today's request count carried over restarts. One JSON file in the user-data folder, written
 * atomically (temp file + rename); a file that does not parse is kept aside and defaults are used.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { NotificationSettings } from "../shared/desktop-api.js";
import { DEFAULT_NOTIFICATION_SETTINGS, applyNotificationPatch } from "./notifications.js";
import type { DailyCount } from "./pool-watch.js";

export type UpstreamChoice = "chromium" | "server";

export interface DesktopSettings {
  notifications: NotificationSettings;
  /** "chromium": Chromium's network stack (the app's default); "server": the server's own transport (impit / fetch). */
  upstream: UpstreamChoice;
  requestsToday: DailyCount | null;
  /** Start at login as chosen in the app (null: never chosen; the OS setting stays as it is). */
  startAtLogin: boolean | null;
  /** Sign-in partitions by token hash (transport/partitions.ts tokenKey), never by token. */
  partitions: Record<string, string>;
}

export const DESKTOP_SETTINGS_FILE = "desktop-settings.json";

export function defaultDesktopSettings(): DesktopSettings {
  return { notifications: structuredClone(DEFAULT_NOTIFICATION_SETTINGS), upstream: "chromium", requestsToday: null, startAtLogin: null, partitions: {} };
}

export function parseDesktopSettings(raw: unknown): DesktopSettings {
  const d = defaultDesktopSettings();
  if (typeof raw !== "object" || raw === null) return d;
  const r = raw as Record<string, unknown>;
  try {
    if (r.notifications !== undefined) d.notifications = applyNotificationPatch(d.notifications, r.notifications);
  } catch {
    /* keep the defaults */
  }
  if (r.upstream === "chromium" || r.upstream === "server") d.upstream = r.upstream;
  if (typeof r.startAtLogin === "boolean") d.startAtLogin = r.startAtLogin;
  const rt = r.requestsToday as Record<string, unknown> | null | undefined;
  if (rt && typeof rt.day === "string" && typeof rt.count === "number") d.requestsToday = { day: rt.day, count: rt.count };
  if (r.partitions && typeof r.partitions === "object" && !Array.isArray(r.partitions)) {
    for (const [k, v] of Object.entries(r.partitions as Record<string, unknown>)) if (/^[0-9a-f]{24}$/.test(k) && typeof v === "string" && v.startsWith("persist:grok2api-signin-")) d.partitions[k] = v;
  }
  return d;
}

export class DesktopSettingsFile {
  private current: DesktopSettings;
  readonly file: string;

  constructor(dir: string) {
    this.file = path.join(dir, DESKTOP_SETTINGS_FILE);
    this.current = this.read();
  }

  private read(): DesktopSettings {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch {
      return defaultDesktopSettings();
    }
    try {
      return parseDesktopSettings(JSON.parse(text));
    } catch {
      try {
        renameSync(this.file, `${this.file}.corrupt-${Date.now()}`);
      } catch {
        /* leave it */
      }
      return defaultDesktopSettings();
    }
  }

  get value(): DesktopSettings {
    return this.current;
  }

  update(fn: (s: DesktopSettings) => DesktopSettings): DesktopSettings {
    this.current = fn(structuredClone(this.current));
    this.save();
    return this.current;
  }

  save(): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(this.current, null, 2) + "\n", { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
