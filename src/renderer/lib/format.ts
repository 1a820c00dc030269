import type { I18n } from "../i18n";

/** The manager's account label: never the whole cookie (first 8 … last 6 characters). */
export const maskToken = (t: string) => (t.length <= 16 ? `${t.slice(0, 3)}…` : `${t.slice(0, 8)}…${t.slice(-6)}`);

/** "2 h 5 min", "40 s", "3 d 4 h": the two largest units. */
export function formatDuration(ms: number, i18n: Pick<I18n, "t">): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const parts: string[] = [];
  if (d) parts.push(i18n.t("time.d", { n: d }));
  if (h) parts.push(i18n.t("time.h", { n: h }));
  if (m && parts.length < 2) parts.push(i18n.t("time.min", { n: m }));
  if (!d && !h && (sec || !parts.length)) parts.push(i18n.t("time.s", { n: sec }));
  return parts.slice(0, 2).join(" ");
}

/** "in 5 min" / "3 h ago" / "now". */
export function formatRelative(at: number, now: number, i18n: Pick<I18n, "t">): string {
  const diff = at - now;
  if (Math.abs(diff) < 1000) return i18n.t("time.now");
  const text = formatDuration(Math.abs(diff), i18n);
  return diff > 0 ? i18n.t("time.in", { time: text }) : i18n.t("time.ago", { time: text });
}

export function formatDateTime(at: number, locale: string): string {
  return new Intl.DateTimeFormat(locale, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(at);
}

export function formatTime(at: number, locale: string): string {
  return new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(at);
}

export function formatClock(at: number, locale: string): string {
  return new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" }).format(at);
}

export function formatBytes(bytes: number, locale: string): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: u === 0 ? 0 : 1 }).format(v)} ${units[u]}`;
}

export function formatNumber(n: number, locale: string): string {
  return new Intl.NumberFormat(locale).format(n);
}
