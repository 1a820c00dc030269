/**
 * Watches the pool for the tray and the notifications. The pool is in this process and its views
 * are cheap, so it is sampled (every 2 s by default, or at once after poke(), throttled) and
 * consecutive samples are compared: what changed becomes PoolEvents, and every sample feeds the
 * tray. Counts "requests today" from the accounts' use counters.
 */
import type { AccountView } from "../server/pool/api.js";
import { Throttle, type Timers, realTimers } from "./timers.js";

export type PoolEvent =
  | { type: "account_dead"; token: string; reason: string }
  | { type: "all_cooling"; nextUsableAt: number | null }
  | { type: "usable_again"; usable: number }
  | { type: "blocked"; kind: "cloudflare" | "anti_bot"; token: string; message: string; at: number };

export interface PoolSample {
  now: number;
  status: Map<string, AccountView["effectiveStatus"]>;
  usable: number;
  /** Accounts that are neither dead nor disabled. */
  serving: number;
  /** Newest failure note seen per account. */
  lastFailureAt: Map<string, number>;
  nextUsableAt: number | null;
}

export function samplePool(accounts: readonly AccountView[], now: number, nextUsableAt: number | null): PoolSample {
  const status = new Map<string, AccountView["effectiveStatus"]>();
  const lastFailureAt = new Map<string, number>();
  let usable = 0, serving = 0;
  for (const a of accounts) {
    status.set(a.token, a.effectiveStatus);
    if (a.usable) usable++;
    if (a.effectiveStatus !== "dead" && a.effectiveStatus !== "disabled") serving++;
    const last = a.failures.length ? a.failures[a.failures.length - 1]!.at : 0;
    lastFailureAt.set(a.token, last);
  }
  return { now, status, usable, serving, lastFailureAt, nextUsableAt };
}

const allCooling = (s: PoolSample) => s.serving > 0 && s.usable === 0;

/**
 * Events between two samples. The first sample (prev null) only reports "all cooling" (accounts
 * that were already dead or blocked before the app started are shown in the tray, not announced).
 */
export function diffPool(prev: PoolSample | null, next: PoolSample, accounts: readonly AccountView[]): PoolEvent[] {
  const events: PoolEvent[] = [];
  if (prev) {
    for (const a of accounts) {
      const before = prev.status.get(a.token);
      if (a.effectiveStatus === "dead" && before !== undefined && before !== "dead") events.push({ type: "account_dead", token: a.token, reason: a.statusReason });
      const seen = prev.lastFailureAt.get(a.token) ?? (before === undefined ? Infinity : 0); // a new account's old notes are not news
      for (const f of a.failures) {
        if (f.at > seen && (f.kind === "cloudflare" || f.kind === "anti_bot")) events.push({ type: "blocked", kind: f.kind, token: a.token, message: f.message, at: f.at });
      }
    }
  }
  const wasCooling = prev ? allCooling(prev) : false;
  if (allCooling(next) && !wasCooling) events.push({ type: "all_cooling", nextUsableAt: next.nextUsableAt });
  if (prev && wasCooling && next.usable > 0) events.push({ type: "usable_again", usable: next.usable });
  return events;
}

export interface DailyCount {
  day: string;
  count: number;
}

export function localDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/**
 * Successful requests since local midnight: the growth of each account's use counter between
 * samples (a new account's earlier uses are not counted; a removed account just stops counting).
 * `saved` carries today's count over an app restart.
 */
export class RequestsToday {
  private readonly last = new Map<string, number>();
  private state: DailyCount;

  constructor(now: number, saved: DailyCount | null = null) {
    const day = localDay(now);
    this.state = saved && saved.day === day && Number.isFinite(saved.count) && saved.count >= 0 ? { ...saved } : { day, count: 0 };
  }

  update(accounts: readonly AccountView[], now: number): number {
    const day = localDay(now);
    if (day !== this.state.day) this.state = { day, count: 0 };
    const present = new Set<string>();
    for (const a of accounts) {
      present.add(a.token);
      const before = this.last.get(a.token);
      if (before !== undefined && a.useCount > before) this.state.count += a.useCount - before;
      this.last.set(a.token, a.useCount);
    }
    for (const t of [...this.last.keys()]) if (!present.has(t)) this.last.delete(t);
    return this.state.count;
  }

  get value(): DailyCount {
    return { ...this.state };
  }
}

export interface PoolSource {
  list(): AccountView[];
  nextResetAt(): number | null;
}

export interface PoolWatchSample {
  accounts: AccountView[];
  now: number;
  requestsToday: number;
}

export class PoolWatcher {
  private prev: PoolSample | null = null;
  private timer: unknown = null;
  private readonly throttle: Throttle;
  readonly requests: RequestsToday;

  constructor(
    private readonly pool: PoolSource,
    private readonly handlers: { onSample(s: PoolWatchSample): void; onEvents(events: PoolEvent[]): void },
    private readonly opts: { intervalMs?: number; minGapMs?: number; timers?: Timers; savedCount?: DailyCount | null } = {},
  ) {
    const timers = opts.timers ?? realTimers;
    this.requests = new RequestsToday(timers.now(), opts.savedCount ?? null);
    this.throttle = new Throttle(() => this.tick(), opts.minGapMs ?? 1000, timers);
  }

  start(): void {
    if (this.timer !== null) return;
    const timers = this.opts.timers ?? realTimers;
    this.throttle.request(); // the first sample now (through the throttle, so a poke right after waits its gap)
    this.timer = timers.setInterval(() => this.throttle.request(), this.opts.intervalMs ?? 2000);
  }

  /** Something changed (e.g. an account was added): sample soon. */
  poke(): void {
    this.throttle.request();
  }

  stop(): void {
    const timers = this.opts.timers ?? realTimers;
    if (this.timer !== null) timers.clearInterval(this.timer);
    this.timer = null;
    this.throttle.cancel();
  }

  /** One sample now (also what the interval runs). */
  tick(): void {
    const now = (this.opts.timers ?? realTimers).now();
    const accounts = this.pool.list();
    const sample = samplePool(accounts, now, this.pool.nextResetAt());
    const events = diffPool(this.prev, sample, accounts);
    this.prev = sample;
    const requestsToday = this.requests.update(accounts, now);
    this.handlers.onSample({ accounts, now, requestsToday });
    if (events.length) this.handlers.onEvents(events);
  }
}
