/**
 * Hands out and settles leases (the pool's lease() and everything a settled lease does):
 * scan for the best account (selection.ts), count it in flight, take its cross-process slot
 * (a refused slot moves on to the next candidate, at most MAX_SLOT_ATTEMPTS per call), and on
 * settlement apply the outcome (usage, quota readings, failure reactions), release the slot and
 * schedule the "after use" sync. See account-pool.ts for the rules.
 */
import { randomUUID } from "node:crypto";
import type { Lease, LeaseRequest, PoolLogger, PoolStore } from "./api.js";
import type { PoolEntry } from "./entry.js";
import { type EntryWriter, errorText } from "./entry-writer.js";
import { PoolLease, type LeaseHost, type LeaseOutcome } from "./lease.js";
import { NoAccountError, buildNoAccountError } from "./no-account-error.js";
import { isDeadKind } from "./quota-sync.js";
import { failureMutation, type ReactionConfig } from "./reactions.js";
import { applyReadingsMutation, needFor, normalizeRecord, type Mutation } from "./record-state.js";
import type { Roster } from "./roster.js";
import { ScanResult, scanEntries } from "./selection.js";
import { TIER_RANK, isTier } from "./tiers.js";
import { maskToken } from "../core/token.js";
import type { Clock, FailureKind } from "../core/account.js";

const MAX_SLOT_ATTEMPTS = 8;

export interface LeaseDeskDeps {
  store: PoolStore;
  clock: Clock;
  random: () => number;
  roster: Roster;
  writer: EntryWriter;
  reactions: ReactionConfig;
  slotTtlMs: number;
  afterUseDelayMs: number;
  log: PoolLogger;
  /** A lease was settled after `holdMs` (its slot is free again). */
  onSettled: (holdMs: number) => void;
}

export class LeaseDesk {
  /** Per-account concurrency cap; 0 = unlimited. */
  cap: number;
  private readonly deps: LeaseDeskDeps;
  private readonly outstanding = new Set<PoolLease>();
  private readonly leasePrefix = randomUUID().slice(0, 8);
  private leaseSeq = 0;

  constructor(deps: LeaseDeskDeps, cap: number) {
    this.deps = deps;
    this.cap = cap;
  }

  /** Leases handed out and not settled yet. */
  get outstandingCount(): number {
    return this.outstanding.size;
  }

  /** Leases the best eligible account; throws NoAccountError when none can serve the request. */
  async lease(req: LeaseRequest): Promise<Lease> {
    if (typeof req.bucket !== "string") throw new TypeError("lease: bucket must be a string");
    if (!Number.isFinite(req.cost) || req.cost < 0) throw new TypeError(`lease: invalid cost ${String(req.cost)}`);
    if (!isTier(req.minTier)) throw new TypeError(`lease: invalid minTier ${String(req.minTier)}`);
    const { store, clock, roster, writer, log } = this.deps;
    const need = needFor(req.cost);
    const exclude = req.exclude !== undefined && req.exclude.size > 0 ? req.exclude : null;
    let refused: Set<PoolEntry> | null = null;
    for (;;) {
      const now = clock.now();
      const query = { bucket: req.bucket, need, minRank: TIER_RANK[req.minTier], exclude, cap: this.cap, refused, now };
      const scan = new ScanResult(roster.entries.length);
      scanEntries(roster.cols, roster.entries, query, this.onStale, scan);
      const { best, counts, nextAvailableAt } = scan;
      if (best === null) {
        throw buildNoAccountError(counts, nextAvailableAt, now, req.bucket, req.minTier, this.cap, refused !== null);
      }
      if (refused !== null && refused.size >= MAX_SLOT_ATTEMPTS) {
        const retry = nextAvailableAt === null ? null : Math.max(0, nextAvailableAt - now);
        throw new NoAccountError("busy", `${refused.size} accounts in a row had no free concurrency slot (held by other processes).`, nextAvailableAt, retry, { bucket: req.bucket, minTier: req.minTier, counts });
      }
      const lease = this.open(best, req, now);
      if (this.cap === 0) return lease;
      let ok: boolean;
      try {
        ok = await store.acquireSlot(lease.token, lease.id, this.cap, this.deps.slotTtlMs);
      } catch (err) {
        this.undo(lease);
        throw err;
      }
      const status = best.rec.status;
      if (ok && !best.removed && status !== "dead" && status !== "disabled") {
        lease.slotHeld = true;
        return lease;
      }
      if (ok) {
        writer.background(store.releaseSlot(lease.token, lease.id).catch((err: unknown) => {
          log("warn", "pool: releaseSlot failed (expires with its ttl)", { lease: lease.id, error: errorText(err) });
        }));
      }
      this.undo(lease);
      (refused ??= new Set()).add(best);
      log("debug", "pool: slot refused, trying the next account", { account: maskToken(best.token), requestId: req.requestId });
    }
  }

  /** Counts a failure of the account and applies its reaction durably (also used by quota sync). */
  recordFailure(e: PoolEntry, kind: FailureKind, message: string, m: Mutation, requestId?: string): Promise<void> {
    e.setRec({ ...e.rec, failCount: e.rec.failCount + 1 });
    this.recordUsage({ token: e.token, failures: 1 });
    const p = this.deps.writer.persist(e, m);
    const rec = e.rec;
    this.deps.log(isDeadKind(kind) ? "warn" : "info", `pool: account ${kind}`, {
      account: maskToken(e.token), status: rec.status, reason: rec.statusReason, until: rec.cooldownUntil, message, requestId,
    });
    return p;
  }

  private open(e: PoolEntry, req: LeaseRequest, now: number): PoolLease {
    e.inFlight++;
    e.salt = this.deps.random();
    if (now > e.lastLeasedAt) e.lastLeasedAt = now;
    const decremented = e.addDecrement(req.bucket, req.cost, now);
    const lease = new PoolLease(this.leaseHost, e, `${this.leasePrefix}-${++this.leaseSeq}`, req.bucket, req.cost, decremented, now, req.requestId);
    this.outstanding.add(lease);
    return lease;
  }

  /** Takes back a lease that was never handed out. */
  private undo(lease: PoolLease): void {
    const e = lease.entry;
    e.inFlight--;
    if (lease.decremented) e.revertDecrement(lease.bucket, lease.cost, this.deps.clock.now());
    this.outstanding.delete(lease);
    lease.discard();
  }

  private readonly onStale = (e: PoolEntry, now: number): void => {
    const before = e.rec;
    const after = normalizeRecord(before, now);
    e.setRec(after);
    if (after.status !== before.status) {
      this.deps.log("info", "pool: account cooldown over", { account: maskToken(e.token) });
      void this.deps.writer.persist(e, null);
    }
  };

  private readonly leaseHost: LeaseHost = {
    finish: (lease, outcome) => this.finish(lease, outcome),
    lateOutcome: (lease, outcome) =>
      this.deps.log("debug", "pool: lease already settled; outcome ignored", { lease: lease.id, outcome: outcome.type }),
  };

  private async finish(lease: PoolLease, outcome: LeaseOutcome): Promise<void> {
    const e = lease.entry;
    const now = this.deps.clock.now();
    e.inFlight--;
    try {
      const durable = e.removed ? undefined : this.applyOutcome(lease, outcome, now);
      if (durable !== undefined) await durable;
    } catch (err) {
      this.deps.log("error", "pool: applying a lease outcome failed", { lease: lease.id, error: errorText(err) });
    }
    try {
      if (lease.slotHeld) await this.deps.store.releaseSlot(lease.token, lease.id);
    } catch (err) {
      this.deps.log("warn", "pool: releaseSlot failed (expires with its ttl)", { lease: lease.id, error: errorText(err) });
    } finally {
      this.outstanding.delete(lease);
      if (!e.removed) this.noteUse(e, lease.bucket, now);
      this.deps.onSettled(now - lease.startedAt);
    }
  }

  private applyOutcome(lease: PoolLease, outcome: LeaseOutcome, now: number): Promise<void> | undefined {
    if (outcome === null) return undefined;
    const e = lease.entry;
    if (outcome.type === "success") {
      e.setRec({ ...e.rec, useCount: e.rec.useCount + 1, lastUsedAt: now });
      if (now > e.lastLeasedAt) e.lastLeasedAt = now;
      this.recordUsage({ token: e.token, uses: 1, lastUsedAt: now });
      return outcome.quota !== undefined && outcome.quota.length > 0 ? this.deps.writer.persist(e, applyReadingsMutation(outcome.quota)) : undefined;
    }
    const { kind, message, opts } = outcome;
    if ((kind === "anti_bot" || kind === "cloudflare") && lease.decremented) e.revertDecrement(lease.bucket, lease.cost, now);
    const m = failureMutation(kind, lease.bucket, message, opts, this.deps.reactions, e.rec.lastUsedAt);
    if (m === null) return undefined;
    return this.recordFailure(e, kind, message, m, lease.requestId);
  }

  private recordUsage(delta: Parameters<PoolStore["recordUsage"]>[0]): void {
    try {
      this.deps.store.recordUsage(delta);
    } catch (err) {
      this.deps.log("warn", "pool: recordUsage failed", { error: errorText(err) });
    }
  }

  private noteUse(e: PoolEntry, bucket: string, now: number): void {
    if (e.afterUseAt === Infinity) e.afterUseAt = now + this.deps.afterUseDelayMs;
    (e.afterUseBuckets ??= new Set()).add(bucket === "" ? "*" : bucket);
  }
}
