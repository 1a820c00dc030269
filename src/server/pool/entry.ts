/**
 * In-memory state of one account: the record as last stored plus what this process knows and
 * has not persisted yet (pending mutations, local quota decrements), in-flight count and sync state.
 *
 * Invariant: rec = normalize(stored) + pending mutations (in order) + ledger.
 */
import { Columns } from "./columns.js";
import { applyLedger, normalizeRecord, withDecrement, type Ledger, type Mutation } from "./record-state.js";
import type { AccountRecord } from "../core/account.js";

export interface PendingMutation {
  fn: Mutation | null;
  now: number;
}

export class PoolEntry {
  rec: AccountRecord;
  /** Slot in the pool's columns (and entries array). */
  index: number;
  private cols: Columns;
  removed = false;
  /** Unpersisted local quota decrements per bucket. */
  ledger: Ledger | null = null;
  /** Mutations applied in memory whose store write has not completed yet. */
  readonly pending: PendingMutation[] = [];
  /** Serialises this account's store writes and re-reads, so adoptions happen in order. */
  chain: Promise<void> = Promise.resolve();
  /** Bumped on every adoption of a stored record. */
  gen = 0;
  // ---- sync state (Infinity = not scheduled) ----
  nextSyncAt = Infinity;
  afterUseAt = Infinity;
  afterUseBuckets: Set<string> | null = null;
  syncing = false;

  constructor(cols: Columns, rec: AccountRecord) {
    this.cols = cols;
    this.rec = rec;
    this.index = cols.add();
    cols.writeRecord(this.index, rec);
    if (rec.lastUsedAt !== null) cols.lastLeased[this.index] = rec.lastUsedAt;
  }

  get token(): string {
    return this.rec.token;
  }

  get inFlight(): number {
    return this.cols.inFlight[this.index]!;
  }

  set inFlight(v: number) {
    this.cols.inFlight[this.index] = v;
  }

  /** Last lease start or success known here (least-recently-used ranking). */
  get lastLeasedAt(): number {
    return this.cols.lastLeased[this.index]!;
  }

  set lastLeasedAt(v: number) {
    this.cols.lastLeased[this.index] = v;
  }

  /**
   * Random tie-breaker, drawn when the entry is created and again each time it is leased. Among
   * accounts equal on every ranking key the lowest salt wins: a uniformly random choice without
   * calling random() for every tie during the scan.
   */
  get salt(): number {
    return this.cols.salt[this.index]!;
  }

  set salt(v: number) {
    this.cols.salt[this.index] = v;
  }

  setRec(rec: AccountRecord): void {
    this.rec = rec;
    this.cols.writeRecord(this.index, rec);
  }

  /**
   * Leaves the shared columns (the account was removed; its slot goes to another account): the
   * entry keeps its figures in a private one-slot copy, so outstanding leases can still settle.
   */
  detach(): void {
    const own = new Columns(1);
    const slot = own.add();
    own.writeRecord(slot, this.rec);
    own.inFlight[slot] = this.inFlight;
    own.lastLeased[slot] = this.lastLeasedAt;
    own.salt[slot] = this.salt;
    this.cols = own;
    this.index = slot;
    this.removed = true;
  }

  /** Local estimate on lease. Returns false when the bucket's remaining is unknown (nothing to count). */
  addDecrement(bucket: string, cost: number, now: number): boolean {
    const b = bucket === "" ? undefined : this.rec.quota[bucket];
    if (b === undefined || b.remaining === null || cost <= 0) return false;
    this.ledger ??= new Map();
    const item = this.ledger.get(bucket);
    if (item === undefined) this.ledger.set(bucket, { n: cost, at: now });
    else {
      item.n += cost;
      item.at = Math.max(item.at, now);
    }
    this.setRec(withDecrement(this.rec, bucket, cost, now));
    return true;
  }

  /** Gives a decrement back (slot refused, request rejected before upstream counted it). */
  revertDecrement(bucket: string, cost: number, now: number): void {
    const item = this.ledger?.get(bucket);
    if (item === undefined || item.n < cost) return; // already persisted or superseded by a sync
    item.n -= cost;
    if (item.n <= 0) this.ledger!.delete(bucket);
    this.setRec(withDecrement(this.rec, bucket, -cost, now));
  }

  snapshotLedger(): Ledger | null {
    if (this.ledger === null || this.ledger.size === 0) return null;
    const copy: Ledger = new Map();
    for (const [k, v] of this.ledger) copy.set(k, { n: v.n, at: v.at });
    return copy;
  }

  /** After a write that included `snap` succeeded. */
  consumeLedger(snap: Ledger | null): void {
    if (snap === null || this.ledger === null) return;
    for (const [k, v] of snap) {
      const item = this.ledger.get(k);
      if (item === undefined) continue;
      item.n -= v.n;
      if (item.n <= 0) this.ledger.delete(k);
    }
  }

  hasLedger(): boolean {
    return this.ledger !== null && this.ledger.size > 0;
  }

  /** Takes a stored record as the new base and re-applies what is not stored yet. */
  adopt(stored: AccountRecord, now: number): void {
    const mem = this.rec;
    let rec: AccountRecord = stored;
    // usage counters are batched by the store (≤ 1 s), so the stored figures may lag ours
    if (mem.useCount > rec.useCount || mem.failCount > rec.failCount || (mem.lastUsedAt ?? 0) > (rec.lastUsedAt ?? 0)) {
      rec = {
        ...rec,
        useCount: Math.max(rec.useCount, mem.useCount),
        failCount: Math.max(rec.failCount, mem.failCount),
        lastUsedAt: Math.max(rec.lastUsedAt ?? 0, mem.lastUsedAt ?? 0) || null,
      };
    }
    rec = normalizeRecord(rec, now);
    for (const p of this.pending) if (p.fn !== null) rec = p.fn(rec, p.now) ?? rec;
    rec = applyLedger(rec, this.ledger, (bucket) => this.ledger?.delete(bucket));
    if (rec.lastUsedAt !== null && rec.lastUsedAt > this.lastLeasedAt) this.lastLeasedAt = rec.lastUsedAt;
    this.gen++;
    this.setRec(rec);
  }
}
