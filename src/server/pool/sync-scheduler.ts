/**
 * The only timer of the pool: started/stopped explicitly. Each tick (also callable directly by
 * tests with a fake clock) starts the due quota syncs — periodic per tier, and "after use" a few
 * seconds after a lease of the account ended — up to a concurrency limit, round-robin over the
 * accounts, and now and then persists local quota estimates that had no other write.
 */
import type { PoolEntry } from "./entry.js";
import { effectiveStatus } from "./record-state.js";
import type { Tier } from "../core/account.js";

export interface SyncHost {
  entries(): readonly PoolEntry[];
  now(): number;
  canSync(): boolean;
  intervalFor(tier: Tier): number;
  /** Syncs the given buckets (null = everything). Never rejects. */
  runSync(e: PoolEntry, buckets: string[] | null): Promise<void>;
  /** Persists the entry's local estimates. Never rejects. */
  flushEstimates(e: PoolEntry): Promise<void>;
}

export interface SyncSchedulerOptions {
  tickMs: number;
  concurrency: number;
  flushMs: number;
}

export class SyncScheduler {
  private readonly host: SyncHost;
  private readonly opts: SyncSchedulerOptions;
  private timer: ReturnType<typeof setInterval> | null = null;
  private running = 0;
  private cursor = 0;
  private nextFlushAt: number | null = null;

  constructor(host: SyncHost, opts: SyncSchedulerOptions) {
    this.host = host;
    this.opts = opts;
  }

  get started(): boolean {
    return this.timer !== null;
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.tick(), this.opts.tickMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }

  /** Starts the due work and resolves when what it started has finished. */
  async tick(): Promise<void> {
    const now = this.host.now();
    const work: Promise<void>[] = [];
    if (this.host.canSync()) this.startDueSyncs(now, work);
    this.nextFlushAt ??= now + this.opts.flushMs;
    if (now >= this.nextFlushAt) {
      this.nextFlushAt = now + this.opts.flushMs;
      for (const e of this.host.entries()) {
        if (e.hasLedger() && e.pending.length === 0) work.push(this.host.flushEstimates(e));
      }
    }
    await Promise.all(work);
  }

  private startDueSyncs(now: number, work: Promise<void>[]): void {
    const list = this.host.entries();
    const n = list.length;
    let k = 0;
    for (; k < n && this.running < this.opts.concurrency; k++) {
      const e = list[(this.cursor + k) % n]!;
      const buckets = this.due(e, now);
      if (buckets === undefined) continue;
      e.syncing = true;
      e.afterUseAt = Infinity;
      e.afterUseBuckets = null;
      this.running++;
      work.push(this.host.runSync(e, buckets).finally(() => {
        e.syncing = false;
        this.running--;
      }));
    }
    this.cursor = n === 0 ? 0 : (this.cursor + k) % n;
  }

  /** undefined = nothing due; null = full sync; else the buckets used since the last sync. */
  private due(e: PoolEntry, now: number): string[] | null | undefined {
    if (e.syncing || e.removed) return undefined;
    const status = effectiveStatus(e.rec, now);
    if (status === "dead" || status === "disabled") return undefined;
    const interval = this.host.intervalFor(e.rec.tier);
    if (interval > 0 && e.nextSyncAt <= now) {
      e.nextSyncAt = now + interval;
      return null;
    }
    if (e.afterUseAt <= now) return e.afterUseBuckets === null ? null : [...e.afterUseBuckets];
    return undefined;
  }
}
