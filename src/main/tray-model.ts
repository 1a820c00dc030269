/**
 * The tray at a glance, as plain data: pool views → a TrayModel → the icon state, the tooltip and
 * the menu. Pure functions (time is passed in), so the whole tray is tested in Node.
 */
import type { AccountView } from "../server/pool/api.js";
import type { TrayHealth, TrayIconState } from "./icon/tray-icon.js";
import type { MenuItemSpec } from "./platform.js";

export type Confidence = "confirmed" | "estimated" | "unknown";

export interface BucketSummary {
  id: string;
  /** Sum of the known remaining figures; null when none is known. */
  remaining: number | null;
  total: number | null;
  /** confirmed: every figure was confirmed upstream; estimated: some are local estimates; unknown: no figure. */
  confidence: Confidence;
  accounts: number;
  /** Earliest future reset of an exhausted figure of this bucket. */
  resetAt: number | null;
}

export interface ServerStatus {
  baseUrl: string;
  port: number;
  /** The port that was asked for when it was taken. */
  requestedPort: number | null;
  paused: boolean;
}

export interface TrayModel {
  health: TrayHealth;
  share: number;
  counts: { total: number; usable: number; cooling: number; dead: number; disabled: number };
  buckets: BucketSummary[];
  nextResetAt: number | null;
  requestsToday: number;
  /** Things that need attention, as short sentences (they also light the icon's dot). */
  attention: Attention[];
  server: ServerStatus;
}

export interface Attention {
  /** What clicking it does (see TrayActions.fix). */
  fix: "open-manager" | "open-signin" | "copy-base-url";
  text: string;
}

/** Chat modes first, then media, then anything else alphabetically. */
const BUCKET_ORDER = ["fast", "auto", "expert", "heavy", "image_pro", "image_edit", "video", "video_720p"];

function bucketRank(id: string): number {
  const i = BUCKET_ORDER.indexOf(id);
  return i === -1 ? BUCKET_ORDER.length : i;
}

export function summarizeBuckets(accounts: readonly AccountView[], now: number): BucketSummary[] {
  const acc = new Map<string, { remaining: number | null; total: number | null; confirmed: number; known: number; accounts: number; resetAt: number | null }>();
  for (const a of accounts) {
    if (a.effectiveStatus === "dead" || a.effectiveStatus === "disabled") continue;
    for (const [id, raw] of Object.entries(a.quota)) {
      // a window whose reset passed is back to its total (as the pool treats it)
      const b = raw.resetAt !== null && raw.resetAt <= now ? { ...raw, remaining: raw.total, confidence: raw.total === null ? ("unknown" as const) : ("estimated" as const), resetAt: null } : raw;
      let s = acc.get(id);
      if (!s) acc.set(id, (s = { remaining: null, total: null, confirmed: 0, known: 0, accounts: 0, resetAt: null }));
      s.accounts++;
      if (b.remaining !== null) {
        s.remaining = (s.remaining ?? 0) + b.remaining;
        s.known++;
        if (b.confidence === "confirmed") s.confirmed++;
        if (b.remaining <= 0 && b.resetAt !== null && b.resetAt > now && (s.resetAt === null || b.resetAt < s.resetAt)) s.resetAt = b.resetAt;
      }
      if (b.total !== null) s.total = (s.total ?? 0) + b.total;
    }
  }
  return [...acc.entries()]
    .map(([id, s]) => ({
      id,
      remaining: s.remaining,
      total: s.total,
      confidence: (s.known === 0 ? "unknown" : s.confirmed === s.accounts ? "confirmed" : "estimated") as Confidence,
      accounts: s.accounts,
      resetAt: s.resetAt,
    }))
    .sort((a, b) => bucketRank(a.id) - bucketRank(b.id) || a.id.localeCompare(b.id));
}

/** Earliest future moment something comes back: a cooldown ending or a quota window resetting. */
export function nextResetAt(accounts: readonly AccountView[], now: number): number | null {
  let best: number | null = null;
  const consider = (t: number | null) => {
    if (t !== null && t > now && (best === null || t < best)) best = t;
  };
  for (const a of accounts) {
    if (a.effectiveStatus === "dead" || a.effectiveStatus === "disabled") continue;
    if (a.effectiveStatus === "cooling") consider(a.cooldownUntil);
    for (const b of Object.values(a.quota)) if (b.remaining !== null && b.total !== null && b.remaining < b.total) consider(b.resetAt);
  }
  return best;
}

export function buildTrayModel(input: { accounts: readonly AccountView[]; now: number; requestsToday: number; server: ServerStatus; attention?: Attention[] }): TrayModel {
  const counts = { total: 0, usable: 0, cooling: 0, dead: 0, disabled: 0 };
  for (const a of input.accounts) {
    counts.total++;
    if (a.effectiveStatus === "dead") counts.dead++;
    else if (a.effectiveStatus === "disabled") counts.disabled++;
    else if (a.usable) counts.usable++;
    else counts.cooling++;
  }
  const serving = counts.total - counts.disabled;
  const share = serving > 0 ? counts.usable / serving : 0;
  const health: TrayHealth = input.server.paused ? "paused" : serving === 0 ? "empty" : counts.usable === 0 ? "none" : counts.cooling > 0 ? "cooling" : "good";
  const attention: Attention[] = [...(input.attention ?? [])];
  if (counts.dead > 0) attention.unshift({ fix: "open-manager", text: `${counts.dead} account${counts.dead === 1 ? "" : "s"} dead — open the manager` });
  if (input.server.requestedPort !== null) attention.push({ fix: "copy-base-url", text: `Port ${input.server.requestedPort} was taken — serving on ${input.server.port}` });
  return {
    health,
    share,
    counts,
    buckets: summarizeBuckets(input.accounts, input.now),
    nextResetAt: nextResetAt(input.accounts, input.now),
    requestsToday: input.requestsToday,
    attention,
    server: input.server,
  };
}

export function iconStateOf(m: TrayModel): TrayIconState {
  return { health: m.health, share: m.share, attention: m.attention.length > 0 };
}

/** "45 s", "12 min", "1 h 05 min", "2 d 3 h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${String(m % 60).padStart(2, "0")} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function formatBucket(b: BucketSummary): string {
  const name = b.id.replace(/_/g, " ");
  if (b.confidence === "unknown" || b.remaining === null) return `${name}: unknown`;
  const approx = b.confidence === "estimated" ? "≈" : "";
  return `${name}: ${approx}${b.remaining}${b.total !== null ? ` / ${b.total}` : ""} (${b.confidence})`;
}

export function countsLine(m: TrayModel): string {
  const c = m.counts;
  if (c.total === 0) return "No accounts yet";
  const parts = [`${c.usable} usable`, `${c.cooling} cooling`, `${c.dead} dead`];
  if (c.disabled) parts.push(`${c.disabled} disabled`);
  return parts.join(" · ");
}

function serverLine(m: TrayModel): string {
  const host = m.server.baseUrl.replace(/^https?:\/\//, "");
  if (m.server.paused) return `Paused — ${host} answers 503`;
  return m.server.requestedPort !== null ? `Serving on ${host} (${m.server.requestedPort} was taken)` : `Serving on ${host}`;
}

/** Windows cuts tray tooltips at 127 characters. */
export const TOOLTIP_MAX = 127;

export function trayTooltip(m: TrayModel, now: number): string {
  const lines = [`Grok2API ${m.server.paused ? "(paused) " : ""}:${m.server.port}`, countsLine(m)];
  if (m.nextResetAt !== null) lines.push(`Next reset in ${formatDuration(m.nextResetAt - now)}`);
  lines.push(`${m.requestsToday} request${m.requestsToday === 1 ? "" : "s"} today`);
  const text = lines.join("\n");
  return text.length > TOOLTIP_MAX ? text.slice(0, TOOLTIP_MAX - 1) + "…" : text;
}

export interface TrayActions {
  copy(text: string): void;
  togglePause(): void;
  openManager(): void;
  openSignIn(): void;
  openLogs(): void;
  setStartAtLogin(on: boolean): void;
  quit(): void;
}

export const MAX_BUCKET_LINES = 8;

export function trayMenu(m: TrayModel, now: number, actions: TrayActions, opts: { startAtLogin: boolean }): MenuItemSpec[] {
  const info = (id: string, label: string): MenuItemSpec => ({ id, label, enabled: false });
  const items: MenuItemSpec[] = [info("counts", countsLine(m)), info("server", serverLine(m))];
  items.push({ type: "separator" });
  if (m.buckets.length === 0) items.push(info("quota", "Quota: not known yet"));
  for (const b of m.buckets.slice(0, MAX_BUCKET_LINES)) items.push(info(`quota:${b.id}`, formatBucket(b)));
  if (m.nextResetAt !== null) {
    const at = new Date(m.nextResetAt);
    items.push(info("next-reset", `Next reset in ${formatDuration(m.nextResetAt - now)} (${String(at.getHours()).padStart(2, "0")}:${String(at.getMinutes()).padStart(2, "0")})`));
  }
  items.push(info("requests-today", `${m.requestsToday} request${m.requestsToday === 1 ? "" : "s"} today`));
  if (m.attention.length) {
    items.push({ type: "separator" });
    m.attention.forEach((a, i) =>
      items.push({
        id: `attention:${i}`,
        label: `⚠ ${a.text}`,
        click: a.fix === "open-signin" ? actions.openSignIn : a.fix === "copy-base-url" ? () => actions.copy(`${m.server.baseUrl}/v1`) : actions.openManager,
      }),
    );
  }
  items.push({ type: "separator" });
  items.push({
    id: "copy",
    label: "Copy base URL",
    type: "submenu",
    submenu: [
      { id: "copy:openai", label: `OpenAI: ${m.server.baseUrl}/v1`, click: () => actions.copy(`${m.server.baseUrl}/v1`) },
      { id: "copy:anthropic", label: `Anthropic: ${m.server.baseUrl}`, click: () => actions.copy(m.server.baseUrl) },
    ],
  });
  items.push({ id: "pause", label: m.server.paused ? "Resume serving" : "Pause serving", click: actions.togglePause });
  items.push({ id: "manager", label: "Open manager", click: actions.openManager });
  items.push({ id: "signin", label: "Sign in to grok.com…", click: actions.openSignIn });
  items.push({ id: "logs", label: "Open logs folder", click: actions.openLogs });
  items.push({ type: "separator" });
  items.push({ id: "start-at-login", label: "Start at login", type: "checkbox", checked: opts.startAtLogin, click: () => actions.setStartAtLogin(!opts.startAtLogin) });
  items.push({ id: "quit", label: "Quit Grok2API", click: actions.quit });
  return items;
}
