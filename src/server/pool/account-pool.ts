/**
 * AccountPool: many grok.com accounts behind one lease() call. Pure: time comes from the injected
 * clock, randomness from the injected random(), I/O only through the PoolStore and QuotaSource;
 * the only timer is the sync scheduler, started/stopped explicitly (startSync/stopSync).
 *
 * Eligibility for lease({bucket, cost, minTier, exclude}):
 * - status active (a cooling account whose cooldownUntil ≤ now is active again: lazily, persisted);
 * - tier ≥ minTier (TIER_ORDER); token not in `exclude`;
 * - bucket not exhausted: remaining known and < cost (at least 1: a bucket at 0 refuses even
 *   cost-0 requests) with resetAt in the future or unknown. Once resetAt passed the bucket is back
 *   to its total, confidence "estimated" (in memory; persisted with the account's next write);
 * - in flight < concurrencyPerAccount (local count), then store.acquireSlot for the cross-process
 *   cap; a refused slot moves on to the next candidate (at most 8 per call, then "busy").
 * Ranking: lowest sufficient tier; confirmed remaining before estimated before unknown; fewer in
 * flight; least recently used; random among equals (a per-account random salt, redrawn on each
 * lease: one random() per lease, none per tie). One O(n) pass (selection.ts).
 *
 * Local estimate: a lease decrements its bucket by `cost` at once (confirmed → "estimated"), so
 * concurrent leases see it and spread. Decrements live in a per-account ledger until the
 * account's next store write (any write carries them as a delta onto the current stored record;
 * the scheduler also flushes them every 30 s); an upstream reading newer than a decrement
 * supersedes it. anti_bot/cloudflare failures give the decrement back (upstream never counted it).
 *
 * Reactions in fail() (reactions.ts), applied durably before fail() resolves:
 * - rate_limited: bucket remaining 0 until opts.resetAt / now+retryAfterMs / backoff (60 s doubling
 *   per consecutive rate limit since the last success, capped at 1 h); an unknown bucket (never
 *   reported upstream, or bucket "") cools the whole account instead. Back automatically. Never dead.
 * - unauthorized → dead "logged out / cookie expired (401): …"; banned → dead "banned: …".
 *   Dead accounts are never leased (nor synced by the scheduler) until markHealthy/syncOne.
 * - upstream_error 30 s, timeout 30 s, empty 60 s: account cooling.
 * - anti_bot, cloudflare, network: no status change, failure note only. request: nothing at all.
 * Every other kind appends a FailureNote (at most MAX_FAILURE_NOTES, newest last) and counts failCount.
 * Dead never overrides disabled; cooling never overrides dead/disabled.
 *
 * NoAccountError reason, by precedence: empty (no accounts) → tier (none of a sufficient tier) →
 * all_dead (all of them dead/disabled) → all_cooling / quota (every remaining one cooling, or
 * exhausted on the bucket; "quota" when at least one is exhausted) → busy (some at their cap) →
 * excluded (the rest were tried). nextAvailableAt = earliest cooldown end / bucket reset among the
 * cooling/exhausted accounts of a sufficient tier (null if none known).
 *
 * Persistence: every change that matters (status, cooldown, buckets, tier, tags, note, failure
 * notes) is a Mutation applied with store.updateAccount to the CURRENT stored record, serialised
 * per account; the result is adopted as the new in-memory base (plus not-yet-written mutations and
 * the ledger). useCount/failCount/lastUsedAt go through store.recordUsage (batched).
 *
 * Leases: succeed/fail/release settle once; local in-flight and the store slot are released exactly
 * once. Callers release() in finally. leakCheck() counts leases not settled yet.
 *
 * Admission (admission.ts): admit() is lease() that, when every eligible account is at its cap
 * ("busy"), waits in a FIFO queue per (minTier, bucket) until a slot frees, up to a timeout and a
 * depth cap. Every settled lease and every change of accounts or cap wakes the queue; slots freed
 * by other processes are found by polling while anybody waits.
 *
 * Sync: syncOne (operator test: success revives dead/cooling), scheduler: periodic per tier
 * (basic 30 min, super 15 min, heavy 10 min) and "after use" 5 s after a lease ended (only the
 * buckets used). Tier detection from totals (§10.4) only while tierSource is "detected".
 */
import { randomUUID } from "node:crypto";
import type {
  AccountView, Lease, LeaseRequest, PoolLogger, PoolOptions, PoolStats, PoolStore, QuotaReading, QuotaSource,
} from "./api.js";
import { Columns } from "./columns.js";
import { Admission, type AdmissionStats, type AdmitOptions } from "./admission.js";
import { PoolEntry } from "./entry.js";
import { EntryWriter, errorText } from "./entry-writer.js";
import { PoolLease, type LeaseHost, type LeaseOutcome } from "./lease.js";
import { NoAccountError, buildNoAccountError } from "./no-account-error.js";
import { failureKindOf, fetchReadings, isDeadKind } from "./quota-sync.js";
import { DEFAULT_COOLDOWNS, DEFAULT_RATE_LIMIT_BACKOFF_MAX_MS, failureMutation, type ReactionConfig } from "./reactions.js";
import { cleanTags, healthyMutation, patchMutation, type AccountPatch, type AddOptions } from "./mutations.js";
import { applyReadingsMutation, needFor, normalizeRecord, type Mutation } from "./record-state.js";
import { ScanResult, scanEntries } from "./selection.js";
import { SyncScheduler } from "./sync-scheduler.js";
import { TIER_RANK, isTier } from "./tiers.js";
import { maskToken, normalizeToken } from "../core/token.js";
import { accountView, earliestUsableAt, poolStats } from "./views.js";
import { newAccountRecord, systemClock, type AccountRecord, type Clock, type FailureKind, type Tier } from "../core/account.js";

export const DEFAULT_SYNC_INTERVALS: Readonly<Record<Tier, number>> = { basic: 30 * 60_000, super: 15 * 60_000, heavy: 10 * 60_000 };
const MAX_SLOT_ATTEMPTS = 8;

export class AccountPool {
  private readonly store: PoolStore;
  private readonly clock: Clock;
  private readonly random: () => number;
  private cap: number;
  private readonly slotTtlMs: number;
  private readonly reactions: ReactionConfig;
  private readonly quotaSource: QuotaSource | undefined;
  private readonly intervals: Record<Tier, number>;
  private readonly afterUseDelayMs: number;
  private readonly logFn: PoolLogger;
  private readonly scheduler: SyncScheduler;
  /** Hot per-account figures for the scan; slot i belongs to entries[i]. */
  private readonly cols = new Columns();
  private readonly entries: PoolEntry[] = [];
  private readonly byToken = new Map<string, PoolEntry>();
  private readonly outstanding = new Set<PoolLease>();
  private readonly writer: EntryWriter;
  private readonly leasePrefix = randomUUID().slice(0, 8);
  private leaseSeq = 0;
  private readonly admission: Admission;

  constructor(opts: PoolOptions) {
    this.store = opts.store;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.cap = Math.max(0, Math.floor(opts.concurrencyPerAccount ?? 4));
    this.slotTtlMs = opts.slotTtlMs ?? 10 * 60_000;
    const c = opts.cooldowns ?? {};
    this.reactions = {
      cooldowns: {
        rate_limited: c.rate_limited ?? DEFAULT_COOLDOWNS.rate_limited,
        upstream_error: c.upstream_error ?? DEFAULT_COOLDOWNS.upstream_error,
        timeout: c.timeout ?? DEFAULT_COOLDOWNS.timeout,
        empty: c.empty ?? DEFAULT_COOLDOWNS.empty,
      },
      rateLimitBackoffMaxMs: opts.rateLimitBackoffMaxMs ?? DEFAULT_RATE_LIMIT_BACKOFF_MAX_MS,
    };
    this.quotaSource = opts.quotaSource;
    const si = opts.syncIntervalMs ?? {};
    this.intervals = {
      basic: si.basic ?? DEFAULT_SYNC_INTERVALS.basic,
      super: si.super ?? DEFAULT_SYNC_INTERVALS.super,
      heavy: si.heavy ?? DEFAULT_SYNC_INTERVALS.heavy,
    };
    this.afterUseDelayMs = opts.afterUseSyncDelayMs ?? 5_000;
    this.logFn = opts.log ?? (() => {});
    this.writer = new EntryWriter(this.store, this.clock, (level, msg, fields) => this.log(level, msg, fields), (e) => this.dropEntry(e));
    this.scheduler = new SyncScheduler(
      {
        entries: () => this.entries,
        now: () => this.clock.now(),
        canSync: () => this.quotaSource !== undefined,
        intervalFor: (tier) => this.intervals[tier],
        runSync: (e, buckets) => this.syncEntry(e, buckets, false).catch(() => {}),
        flushEstimates: (e) => this.writer.persist(e, null),
      },
      { tickMs: opts.syncTickMs ?? 1_000, concurrency: Math.max(1, opts.syncConcurrency ?? 4), flushMs: opts.estimateFlushMs ?? 30_000 },
    );
    this.admission = new Admission(
      { tryLease: (req) => this.lease(req), now: () => this.clock.now() },
      { ...(opts.timers ? { timers: opts.timers } : {}), ...(opts.admissionPollMs ? { pollMinMs: opts.admissionPollMs.min, pollMaxMs: opts.admissionPollMs.max } : {}) },
    );
  }

  // ---------------------------------------------------------------- loading

  /** Reads store.listAccounts() into memory. */
  load(): Promise<void> {
    return this.reloadAll();
  }

  /** Re-reads changed records (called on the store's change feed). */
  async reload(tokens: string[] | "all"): Promise<void> {
    if (tokens === "all") await this.reloadAll();
    else await Promise.all([...new Set(tokens)].map((t) => this.reloadOne(t)));
    this.admission.wake();
  }

  private async reloadAll(): Promise<void> {
    const gens = new Map<PoolEntry, number>();
    for (const e of this.entries) gens.set(e, e.gen);
    const list = await this.store.listAccounts();
    const seen = new Set<string>();
    const now = this.clock.now();
    const later: Promise<void>[] = [];
    for (const rec of list) {
      seen.add(rec.token);
      const e = this.byToken.get(rec.token);
      if (e === undefined) this.insert(rec);
      else if (e.pending.length === 0 && gens.get(e) === e.gen) e.adopt(rec, now);
      else later.push(this.reloadOne(rec.token)); // a write or re-read happened meanwhile: read again in order
    }
    for (const [e] of gens) if (!seen.has(e.token) && !e.removed) this.dropEntry(e);
    await Promise.all(later);
  }

  private async reloadOne(token: string): Promise<void> {
    const e = this.byToken.get(token);
    if (e === undefined) {
      const rec = await this.store.getAccount(token);
      if (rec !== null && !this.byToken.has(token)) this.insert(rec);
      return;
    }
    await this.writer.reread(e);
  }

  private insert(rec: AccountRecord): PoolEntry {
    const e = new PoolEntry(this.cols, rec);
    e.salt = this.random();
    this.entries.push(e); // entries[e.index] === e
    this.byToken.set(rec.token, e);
    let last: number | null = null;
    for (const b of Object.values(rec.quota)) if (b.syncedAt !== null && (last === null || b.syncedAt > last)) last = b.syncedAt;
    const interval = this.intervals[rec.tier];
    e.nextSyncAt = interval > 0 ? (last === null ? this.clock.now() : last + interval) : Infinity;
    return e;
  }

  private dropEntry(e: PoolEntry): void {
    if (e.removed) return;
    const slot = e.index;
    e.detach();
    this.cols.removeSwap(slot);
    const last = this.entries.pop()!;
    if (last !== e) {
      this.entries[slot] = last;
      last.index = slot;
    }
    this.byToken.delete(e.token);
  }

  // ---------------------------------------------------------------- leasing

  /**
   * Like lease(), but when every eligible account is at its concurrency cap the request waits for
   * a slot (FIFO per minTier + bucket) up to `opts.timeoutMs` and `opts.maxDepth` waiting requests;
   * then NoAccountError "queue_timeout" / "queue_full". Other NoAccountErrors come at once. An
   * aborted `opts.signal` leaves the queue at once and rejects with the signal's reason.
   */
  admit(req: LeaseRequest, opts: AdmitOptions): Promise<Lease> {
    return this.admission.admit(req, opts);
  }

  /** Queue depth, waits and totals of admit() (the admin stats). */
  admissionStats(): AdmissionStats {
    return this.admission.stats();
  }

  /** Leases the best eligible account; throws NoAccountError when none can serve the request. */
  async lease(req: LeaseRequest): Promise<Lease> {
    if (typeof req.bucket !== "string") throw new TypeError("lease: bucket must be a string");
    if (!Number.isFinite(req.cost) || req.cost < 0) throw new TypeError(`lease: invalid cost ${String(req.cost)}`);
    if (!isTier(req.minTier)) throw new TypeError(`lease: invalid minTier ${String(req.minTier)}`);
    const need = needFor(req.cost);
    const exclude = req.exclude !== undefined && req.exclude.size > 0 ? req.exclude : null;
    let refused: Set<PoolEntry> | null = null;
    for (;;) {
      const now = this.clock.now();
      const query = { bucket: req.bucket, need, minRank: TIER_RANK[req.minTier], exclude, cap: this.cap, refused, now };
      const scan = new ScanResult(this.entries.length);
      scanEntries(this.cols, this.entries, query, this.onStale, scan);
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
        ok = await this.store.acquireSlot(lease.token, lease.id, this.cap, this.slotTtlMs);
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
        this.writer.background(this.store.releaseSlot(lease.token, lease.id).catch((err: unknown) => {
          this.log("warn", "pool: releaseSlot failed (expires with its ttl)", { lease: lease.id, error: errorText(err) });
        }));
      }
      this.undo(lease);
      (refused ??= new Set()).add(best);
      this.log("debug", "pool: slot refused, trying the next account", { account: maskToken(best.token), requestId: req.requestId });
    }
  }

  private open(e: PoolEntry, req: LeaseRequest, now: number): PoolLease {
    e.inFlight++;
    e.salt = this.random();
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
    if (lease.decremented) e.revertDecrement(lease.bucket, lease.cost, this.clock.now());
    this.outstanding.delete(lease);
    lease.discard();
  }

  private readonly onStale = (e: PoolEntry, now: number): void => {
    const before = e.rec;
    const after = normalizeRecord(before, now);
    e.setRec(after);
    if (after.status !== before.status) {
      this.log("info", "pool: account cooldown over", { account: maskToken(e.token) });
      void this.writer.persist(e, null);
    }
  };

  private readonly leaseHost: LeaseHost = {
    finish: (lease, outcome) => this.finish(lease, outcome),
    lateOutcome: (lease, outcome) =>
      this.log("debug", "pool: lease already settled; outcome ignored", { lease: lease.id, outcome: outcome.type }),
  };

  private async finish(lease: PoolLease, outcome: LeaseOutcome): Promise<void> {
    const e = lease.entry;
    const now = this.clock.now();
    e.inFlight--;
    try {
      const durable = e.removed ? undefined : this.applyOutcome(lease, outcome, now);
      if (durable !== undefined) await durable;
    } catch (err) {
      this.log("error", "pool: applying a lease outcome failed", { lease: lease.id, error: errorText(err) });
    }
    try {
      if (lease.slotHeld) await this.store.releaseSlot(lease.token, lease.id);
    } catch (err) {
      this.log("warn", "pool: releaseSlot failed (expires with its ttl)", { lease: lease.id, error: errorText(err) });
    } finally {
      this.outstanding.delete(lease);
      if (!e.removed) this.noteUse(e, lease.bucket, now);
      this.admission.noteHold(now - lease.startedAt);
      this.admission.wake();
    }
  }

  private applyOutcome(lease: PoolLease, outcome: LeaseOutcome, now: number): Promise<void> | undefined {
    if (outcome === null) return undefined;
    const e = lease.entry;
    if (outcome.type === "success") {
      e.setRec({ ...e.rec, useCount: e.rec.useCount + 1, lastUsedAt: now });
      if (now > e.lastLeasedAt) e.lastLeasedAt = now;
      this.recordUsage({ token: e.token, uses: 1, lastUsedAt: now });
      return outcome.quota !== undefined && outcome.quota.length > 0 ? this.writer.persist(e, applyReadingsMutation(outcome.quota)) : undefined;
    }
    const { kind, message, opts } = outcome;
    if ((kind === "anti_bot" || kind === "cloudflare") && lease.decremented) e.revertDecrement(lease.bucket, lease.cost, now);
    const m = failureMutation(kind, lease.bucket, message, opts, this.reactions, e.rec.lastUsedAt);
    if (m === null) return undefined;
    return this.recordFailure(e, kind, message, m, lease.requestId);
  }

  private recordFailure(e: PoolEntry, kind: FailureKind, message: string, m: Mutation, requestId?: string): Promise<void> {
    e.setRec({ ...e.rec, failCount: e.rec.failCount + 1 });
    this.recordUsage({ token: e.token, failures: 1 });
    const p = this.writer.persist(e, m);
    const rec = e.rec;
    this.log(isDeadKind(kind) ? "warn" : "info", `pool: account ${kind}`, {
      account: maskToken(e.token), status: rec.status, reason: rec.statusReason, until: rec.cooldownUntil, message, requestId,
    });
    return p;
  }

  private recordUsage(delta: Parameters<PoolStore["recordUsage"]>[0]): void {
    try {
      this.store.recordUsage(delta);
    } catch (err) {
      this.log("warn", "pool: recordUsage failed", { error: errorText(err) });
    }
  }

  private noteUse(e: PoolEntry, bucket: string, now: number): void {
    if (e.afterUseAt === Infinity) e.afterUseAt = now + this.afterUseDelayMs;
    (e.afterUseBuckets ??= new Set()).add(bucket === "" ? "*" : bucket);
  }

  /** Leases handed out and not settled yet (debug / tests). */
  leakCheck(): number {
    return this.outstanding.size;
  }

  /** Resolves when every background store write/re-read started so far has finished. */
  whenIdle(): Promise<void> {
    return this.writer.whenIdle();
  }

  /** Persists all local quota estimates and waits for pending writes. */
  async flush(): Promise<void> {
    for (const e of this.entries) if (e.hasLedger() && e.pending.length === 0) void this.writer.persist(e, null);
    await this.whenIdle();
  }

  /** stopSync() + flush(); requests still waiting for a slot are refused. */
  async close(): Promise<void> {
    this.stopSync();
    this.admission.close();
    await this.flush();
  }

  // ---------------------------------------------------------------- administration

  add(tokens: string[], opts: AddOptions = {}): Promise<{ added: string[]; existing: string[] }> {
    return this.addTokens(tokens, opts);
  }

  private async addTokens(tokens: string[], opts: AddOptions): Promise<{ added: string[]; existing: string[] }> {
    if (opts.tier !== undefined && !isTier(opts.tier)) throw new TypeError(`add: invalid tier ${String(opts.tier)}`);
    const wanted = [...new Set(tokens.map(normalizeToken).filter((t) => t !== ""))];
    const existing = wanted.filter((t) => this.byToken.has(t));
    const candidates = wanted.filter((t) => !this.byToken.has(t));
    const elsewhere = await this.storedAmong(candidates); // added by another process meanwhile
    existing.push(...elsewhere);
    const fresh = candidates.filter((t) => !elsewhere.includes(t));
    const now = this.clock.now();
    const tierSource = opts.tierSource ?? (opts.tier !== undefined ? "manual" : "detected");
    const tags = cleanTags(opts.tags ?? []);
    const records = fresh.map((t) => ({ ...newAccountRecord(t, now, opts.tier ?? "basic", tierSource), tags: [...tags] }));
    if (records.length > 0) await this.store.putAccounts(records);
    for (const r of records) if (!this.byToken.has(r.token)) this.insert(r);
    if (records.length > 0) this.log("info", "pool: accounts added", { added: records.length, existing: existing.length });
    if (records.length > 0) this.admission.wake();
    return { added: fresh, existing };
  }

  private async storedAmong(tokens: string[]): Promise<string[]> {
    if (tokens.length === 0) return [];
    let found: AccountRecord[];
    if (tokens.length > 20) {
      const want = new Set(tokens);
      found = (await this.store.listAccounts()).filter((r) => want.has(r.token));
    } else {
      found = (await Promise.all(tokens.map((t) => this.store.getAccount(t)))).filter((r): r is AccountRecord => r !== null);
    }
    for (const r of found) if (!this.byToken.has(r.token)) this.insert(r);
    return found.map((r) => r.token);
  }

  /** Deletes accounts; resolves to how many existed in the store. Outstanding leases stay valid. */
  async remove(tokens: string[]): Promise<number> {
    const list = [...new Set(tokens.map(normalizeToken).filter((t) => t !== ""))];
    const n = await this.store.deleteAccounts(list);
    for (const t of list) {
      const e = this.byToken.get(t);
      if (e !== undefined) this.dropEntry(e);
    }
    return n;
  }

  get(token: string): AccountView | undefined {
    const e = this.entryOf(token);
    return e === undefined ? undefined : accountView(e, this.clock.now());
  }

  list(): AccountView[] {
    const now = this.clock.now();
    return this.entries.map((e) => accountView(e, now));
  }

  async update(token: string, patch: AccountPatch): Promise<AccountView> {
    if (patch.tier !== undefined && patch.tier !== "auto" && !isTier(patch.tier)) throw new TypeError(`update: invalid tier ${String(patch.tier)}`);
    const e = this.requireEntry(token);
    await this.writer.persist(e, patchMutation(patch));
    this.admission.wake();
    return accountView(e, this.clock.now());
  }

  /** After an operator test (or quota sync) succeeded: dead/cooling → active, failures kept. */
  async markHealthy(token: string, quota?: QuotaReading[]): Promise<void> {
    const e = this.requireEntry(token);
    await this.writer.persist(e, healthyMutation(quota ?? []));
    this.admission.wake();
  }

  /** Confirmed buckets from readings; tier detection (§10.4) while tierSource is "detected". */
  async applyQuota(token: string, readings: QuotaReading[]): Promise<void> {
    const e = this.requireEntry(token);
    await this.writer.persist(e, applyReadingsMutation(readings));
  }

  /**
   * Operator test: reads every quota of the account through the QuotaSource; success applies the
   * readings and revives a dead/cooling account. unauthorized/banned errors mark it dead. Rethrows.
   */
  /**
   * Imports whole records (backup restore, the original's token.json): new tokens are stored as
   * given; existing ones are left alone unless `overwrite`, which replaces their stored record.
   */
  async importRecords(records: AccountRecord[], opts: { overwrite?: boolean } = {}): Promise<{ added: string[]; replaced: string[]; existing: string[] }> {
    const byToken = new Map<string, AccountRecord>();
    for (const r of records) {
      const token = normalizeToken(r.token);
      if (token) byToken.set(token, { ...r, token });
    }
    const present = new Set([...byToken.keys()].filter((t) => this.byToken.has(t)));
    for (const t of await this.storedAmong([...byToken.keys()].filter((t) => !present.has(t)))) present.add(t);
    const write = [...byToken.values()].filter((r) => opts.overwrite || !present.has(r.token));
    if (write.length) await this.store.putAccounts(write);
    await this.reload(write.map((r) => r.token));
    const added = write.filter((r) => !present.has(r.token)).map((r) => r.token);
    const replaced = write.filter((r) => present.has(r.token)).map((r) => r.token);
    const existing = [...present].filter((t) => !opts.overwrite);
    if (write.length) this.log("info", "pool: accounts imported", { added: added.length, replaced: replaced.length, existing: existing.length });
    return { added, replaced, existing };
  }

  /** Changes the per-account concurrency cap at runtime (settings change); 0 = unlimited. */
  setConcurrency(cap: number): void {
    this.cap = Math.max(0, Math.floor(cap));
    this.admission.wake();
  }

  async syncOne(token: string): Promise<void> {
    await this.syncEntry(this.requireEntry(token), null, true);
  }

  private async syncEntry(e: PoolEntry, buckets: string[] | null, explicit: boolean): Promise<void> {
    const source = this.quotaSource;
    if (source === undefined) throw new Error("pool: no quota source configured");
    let readings: QuotaReading[];
    try {
      readings = await fetchReadings(source, e.rec, buckets, (msg, err) =>
        this.log("warn", `pool: ${msg}`, { account: maskToken(e.token), error: errorText(err) }));
    } catch (err) {
      const kind = failureKindOf(err);
      this.log("warn", "pool: quota sync failed", { account: maskToken(e.token), kind, error: errorText(err) });
      if (isDeadKind(kind) && !e.removed) await this.recordFailure(e, kind, errorText(err), failureMutation(kind, "", errorText(err), {}, this.reactions)!);
      throw err;
    }
    if (e.removed) return;
    await this.writer.persist(e, explicit ? healthyMutation(readings) : applyReadingsMutation(readings));
  }

  startSync(): void {
    this.scheduler.start();
  }

  stopSync(): void {
    this.scheduler.stop();
  }

  /** One scheduler step now (what the started scheduler does every syncTickMs); resolves when its work is done. */
  syncTick(): Promise<void> {
    return this.scheduler.tick();
  }

  // ---------------------------------------------------------------- views

  stats(): PoolStats {
    return poolStats(this.entries, this.clock.now());
  }

  /** Earliest time any currently unusable (cooling / exhausted) account becomes usable again; null if none. */
  nextResetAt(bucket?: string): number | null {
    return earliestUsableAt(this.entries, this.clock.now(), bucket);
  }

  private entryOf(token: string): PoolEntry | undefined {
    return this.byToken.get(token) ?? this.byToken.get(normalizeToken(token));
  }

  private requireEntry(token: string): PoolEntry {
    const e = this.entryOf(token);
    if (e === undefined) throw new Error(`pool: unknown account ${maskToken(token)}`);
    return e;
  }

  private log(level: Parameters<PoolLogger>[0], msg: string, fields?: Record<string, unknown>): void {
    try {
      this.logFn(level, msg, fields);
    } catch {
      // a broken logger must not break the pool
    }
  }
}
