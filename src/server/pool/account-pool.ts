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
import type {
  AccountView, Lease, LeaseRequest, PoolLogger, PoolOptions, PoolStats, PoolStore, QuotaReading, QuotaSource,
} from "./api.js";
import { Admission, type AdmissionStats, type AdmitOptions } from "./admission.js";
import type { PoolEntry } from "./entry.js";
import { EntryWriter, errorText } from "./entry-writer.js";
import { LeaseDesk } from "./lease-desk.js";
import { failureKindOf, fetchReadings, isDeadKind } from "./quota-sync.js";
import { failureMutation, type ReactionConfig } from "./reactions.js";
import { cleanTags, healthyMutation, patchMutation, type AccountPatch, type AddOptions } from "./mutations.js";
import { reactionConfig, syncIntervals } from "./pool-options.js";
import { applyReadingsMutation } from "./record-state.js";
import { Roster } from "./roster.js";
import { SyncScheduler } from "./sync-scheduler.js";
import { isTier } from "./tiers.js";
import { maskToken, normalizeToken } from "../core/token.js";
import { accountView, earliestUsableAt, poolStats } from "./views.js";
import { newAccountRecord, systemClock, type AccountRecord, type Clock, type Tier } from "../core/account.js";

export { DEFAULT_SYNC_INTERVALS } from "./pool-options.js";

export class AccountPool {
  private readonly store: PoolStore;
  private readonly clock: Clock;
  private readonly reactions: ReactionConfig;
  private readonly quotaSource: QuotaSource | undefined;
  private readonly intervals: Record<Tier, number>;
  private readonly logFn: PoolLogger;
  private readonly scheduler: SyncScheduler;
  private readonly roster: Roster;
  private readonly writer: EntryWriter;
  private readonly desk: LeaseDesk;
  private readonly admission: Admission;

  constructor(opts: PoolOptions) {
    this.store = opts.store;
    this.clock = opts.clock ?? systemClock;
    const random = opts.random ?? Math.random;
    this.reactions = reactionConfig(opts);
    this.quotaSource = opts.quotaSource;
    this.intervals = syncIntervals(opts);
    this.logFn = opts.log ?? (() => {});
    const log: PoolLogger = (level, msg, fields) => this.log(level, msg, fields);
    this.writer = new EntryWriter(this.store, this.clock, log, (e) => this.roster.drop(e));
    this.roster = new Roster({ store: this.store, clock: this.clock, random, writer: this.writer, intervals: this.intervals });
    this.desk = new LeaseDesk(
      {
        store: this.store,
        clock: this.clock,
        random,
        roster: this.roster,
        writer: this.writer,
        reactions: this.reactions,
        slotTtlMs: opts.slotTtlMs ?? 10 * 60_000,
        afterUseDelayMs: opts.afterUseSyncDelayMs ?? 5_000,
        log,
        onSettled: (holdMs) => {
          this.admission.noteHold(holdMs);
          this.admission.wake();
        },
      },
      Math.max(0, Math.floor(opts.concurrencyPerAccount ?? 4)),
    );
    this.scheduler = new SyncScheduler(
      {
        entries: () => this.roster.entries,
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
    return this.roster.reloadAll();
  }

  /** Re-reads changed records (called on the store's change feed). */
  async reload(tokens: string[] | "all"): Promise<void> {
    if (tokens === "all") await this.roster.reloadAll();
    else await Promise.all([...new Set(tokens)].map((t) => this.roster.reloadOne(t)));
    this.admission.wake();
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
  lease(req: LeaseRequest): Promise<Lease> {
    return this.desk.lease(req);
  }

  /** Leases handed out and not settled yet (debug / tests). */
  leakCheck(): number {
    return this.desk.outstandingCount;
  }

  /** Resolves when every background store write/re-read started so far has finished. */
  whenIdle(): Promise<void> {
    return this.writer.whenIdle();
  }

  /** Persists all local quota estimates and waits for pending writes. */
  async flush(): Promise<void> {
    for (const e of this.roster.entries) if (e.hasLedger() && e.pending.length === 0) void this.writer.persist(e, null);
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
    const existing = wanted.filter((t) => this.roster.has(t));
    const candidates = wanted.filter((t) => !this.roster.has(t));
    const elsewhere = await this.roster.storedAmong(candidates); // added by another process meanwhile
    existing.push(...elsewhere);
    const fresh = candidates.filter((t) => !elsewhere.includes(t));
    const now = this.clock.now();
    const tierSource = opts.tierSource ?? (opts.tier !== undefined ? "manual" : "detected");
    const tags = cleanTags(opts.tags ?? []);
    const records = fresh.map((t) => ({ ...newAccountRecord(t, now, opts.tier ?? "basic", tierSource), tags: [...tags] }));
    if (records.length > 0) await this.store.putAccounts(records);
    for (const r of records) if (!this.roster.has(r.token)) this.roster.insert(r);
    if (records.length > 0) this.log("info", "pool: accounts added", { added: records.length, existing: existing.length });
    if (records.length > 0) this.admission.wake();
    return { added: fresh, existing };
  }

  /** Deletes accounts; resolves to how many existed in the store. Outstanding leases stay valid. */
  async remove(tokens: string[]): Promise<number> {
    const list = [...new Set(tokens.map(normalizeToken).filter((t) => t !== ""))];
    const n = await this.store.deleteAccounts(list);
    for (const t of list) {
      const e = this.roster.find(t);
      if (e !== undefined) this.roster.drop(e);
    }
    return n;
  }

  get(token: string): AccountView | undefined {
    const e = this.roster.find(token);
    return e === undefined ? undefined : accountView(e, this.clock.now());
  }

  list(): AccountView[] {
    const now = this.clock.now();
    return this.roster.entries.map((e) => accountView(e, now));
  }

  async update(token: string, patch: AccountPatch): Promise<AccountView> {
    if (patch.tier !== undefined && patch.tier !== "auto" && !isTier(patch.tier)) throw new TypeError(`update: invalid tier ${String(patch.tier)}`);
    const e = this.roster.require(token);
    await this.writer.persist(e, patchMutation(patch));
    this.admission.wake();
    return accountView(e, this.clock.now());
  }

  /** After an operator test (or quota sync) succeeded: dead/cooling → active, failures kept. */
  async markHealthy(token: string, quota?: QuotaReading[]): Promise<void> {
    const e = this.roster.require(token);
    await this.writer.persist(e, healthyMutation(quota ?? []));
    this.admission.wake();
  }

  /** Confirmed buckets from readings; tier detection (§10.4) while tierSource is "detected". */
  async applyQuota(token: string, readings: QuotaReading[]): Promise<void> {
    const e = this.roster.require(token);
    await this.writer.persist(e, applyReadingsMutation(readings));
  }

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
    const present = new Set([...byToken.keys()].filter((t) => this.roster.has(t)));
    for (const t of await this.roster.storedAmong([...byToken.keys()].filter((t) => !present.has(t)))) present.add(t);
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
    this.desk.cap = Math.max(0, Math.floor(cap));
    this.admission.wake();
  }

  /**
   * Operator test: reads every quota of the account through the QuotaSource; success applies the
   * readings and revives a dead/cooling account. unauthorized/banned errors mark it dead. Rethrows.
   */
  async syncOne(token: string): Promise<void> {
    await this.syncEntry(this.roster.require(token), null, true);
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
      if (isDeadKind(kind) && !e.removed) await this.desk.recordFailure(e, kind, errorText(err), failureMutation(kind, "", errorText(err), {}, this.reactions)!);
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
    return poolStats(this.roster.entries, this.clock.now());
  }

  /** Earliest time any currently unusable (cooling / exhausted) account becomes usable again; null if none. */
  nextResetAt(bucket?: string): number | null {
    return earliestUsableAt(this.roster.entries, this.clock.now(), bucket);
  }

  private log(level: Parameters<PoolLogger>[0], msg: string, fields?: Record<string, unknown>): void {
    try {
      this.logFn(level, msg, fields);
    } catch {
      // a broken logger must not break the pool
    }
  }
}
