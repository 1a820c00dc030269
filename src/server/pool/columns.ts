/**
 * The selection scan's hot data, struct-of-arrays: one typed array per field, indexed by the
 * account's slot. Scanning 10 000 accounts then reads a few hundred KB of contiguous memory
 * instead of chasing five objects (and boxed doubles) per account.
 *
 * Slots are dense: removing an account moves the last one into its slot (swap-remove).
 */
import { nextChangeAt } from "./record-state.js";
import { TIER_RANK } from "./tiers.js";
import type { AccountRecord, AccountStatus, QuotaConfidence } from "../core/account.js";

export const ST_ACTIVE = 0;
export const ST_COOLING = 1;
export const ST_DEAD = 2;
export const ST_DISABLED = 3;
const STATUS_CODE: Readonly<Record<AccountStatus, number>> = { active: ST_ACTIVE, cooling: ST_COOLING, dead: ST_DEAD, disabled: ST_DISABLED };

/** Confidence ranks (ranking order); ABSENT = the account has no such bucket. */
export const CONF_CONFIRMED = 0;
export const CONF_ESTIMATED = 1;
export const CONF_UNKNOWN = 2;
export const ABSENT = 3;
const CONF_RANK: Readonly<Record<QuotaConfidence, number>> = { confirmed: CONF_CONFIRMED, estimated: CONF_ESTIMATED, unknown: CONF_UNKNOWN };

/** lastLeased of an account never used. */
export const NEVER_USED = 0;

/** Small integer ids for bucket names (process-wide; there are only a handful). */
const bucketIds = new Map<string, number>();
export function bucketId(name: string): number {
  let id = bucketIds.get(name);
  if (id === undefined) {
    id = bucketIds.size;
    bucketIds.set(name, id);
  }
  return id;
}

/** One bucket's figures for every slot: remaining (NaN = unknown), resetAt (NaN = none), confidence rank. */
export class BucketColumns {
  remaining: Float64Array;
  resetAt: Float64Array;
  conf: Int8Array;

  constructor(capacity: number) {
    this.remaining = new Float64Array(capacity).fill(Number.NaN);
    this.resetAt = new Float64Array(capacity).fill(Number.NaN);
    this.conf = new Int8Array(capacity).fill(ABSENT);
  }

  grow(capacity: number): void {
    const old = this;
    const next = new BucketColumns(capacity);
    next.remaining.set(old.remaining);
    next.resetAt.set(old.resetAt);
    next.conf.set(old.conf);
    this.remaining = next.remaining;
    this.resetAt = next.resetAt;
    this.conf = next.conf;
  }

  move(from: number, to: number): void {
    this.remaining[to] = this.remaining[from]!;
    this.resetAt[to] = this.resetAt[from]!;
    this.conf[to] = this.conf[from]!;
  }

  clear(slot: number): void {
    this.remaining[slot] = Number.NaN;
    this.resetAt[slot] = Number.NaN;
    this.conf[slot] = ABSENT;
  }
}

export class Columns {
  size = 0;
  private capacity: number;
  tier: Int8Array;
  status: Int8Array;
  inFlight: Int32Array;
  /** Earliest cooldown end / bucket reset (Infinity = none): the scan normalises when ≤ now. */
  nextChange: Float64Array;
  lastLeased: Float64Array;
  /** Random tie-breaker (see AccountPool.open). */
  salt: Float64Array;
  /** By bucketId; created when a bucket name is first seen. */
  readonly buckets: (BucketColumns | undefined)[] = [];

  constructor(capacity = 64) {
    this.capacity = capacity;
    this.tier = new Int8Array(capacity);
    this.status = new Int8Array(capacity);
    this.inFlight = new Int32Array(capacity);
    this.nextChange = new Float64Array(capacity);
    this.lastLeased = new Float64Array(capacity);
    this.salt = new Float64Array(capacity);
  }

  /** A new slot at the end. */
  add(): number {
    if (this.size === this.capacity) this.grow(this.capacity * 2);
    const slot = this.size++;
    this.tier[slot] = 0;
    this.status[slot] = ST_ACTIVE;
    this.inFlight[slot] = 0;
    this.nextChange[slot] = Infinity;
    this.lastLeased[slot] = NEVER_USED;
    this.salt[slot] = 0;
    for (const b of this.buckets) b?.clear(slot);
    return slot;
  }

  /** Moves the last slot into `slot` and shrinks; returns the index that moved (== slot when it was the last). */
  removeSwap(slot: number): number {
    const last = --this.size;
    if (last !== slot) {
      this.tier[slot] = this.tier[last]!;
      this.status[slot] = this.status[last]!;
      this.inFlight[slot] = this.inFlight[last]!;
      this.nextChange[slot] = this.nextChange[last]!;
      this.lastLeased[slot] = this.lastLeased[last]!;
      this.salt[slot] = this.salt[last]!;
      for (const b of this.buckets) b?.move(last, slot);
    }
    return last;
  }

  bucket(id: number): BucketColumns {
    let b = this.buckets[id];
    if (b === undefined) {
      while (this.buckets.length < id) this.buckets.push(undefined);
      b = new BucketColumns(this.capacity);
      this.buckets[id] = b;
    }
    return b;
  }

  /** Mirrors the record's status, tier and buckets into the slot. */
  writeRecord(slot: number, rec: AccountRecord): void {
    this.tier[slot] = TIER_RANK[rec.tier] ?? 0;
    this.status[slot] = STATUS_CODE[rec.status] ?? ST_DEAD;
    this.nextChange[slot] = nextChangeAt(rec);
    for (const b of this.buckets) b?.clear(slot);
    for (const name in rec.quota) {
      const q = rec.quota[name]!;
      const b = this.bucket(bucketId(name));
      b.remaining[slot] = q.remaining ?? Number.NaN;
      b.resetAt[slot] = q.resetAt ?? Number.NaN;
      b.conf[slot] = q.remaining === null ? CONF_UNKNOWN : (CONF_RANK[q.confidence] ?? CONF_UNKNOWN);
    }
  }

  private grow(capacity: number): void {
    const grow8 = (a: Int8Array) => { const n = new Int8Array(capacity); n.set(a); return n; };
    const grow64 = (a: Float64Array) => { const n = new Float64Array(capacity); n.set(a); return n; };
    this.tier = grow8(this.tier);
    this.status = grow8(this.status);
    const inFlight = new Int32Array(capacity);
    inFlight.set(this.inFlight);
    this.inFlight = inFlight;
    this.nextChange = grow64(this.nextChange);
    this.lastLeased = grow64(this.lastLeased);
    this.salt = grow64(this.salt);
    for (const b of this.buckets) b?.grow(capacity);
    this.capacity = capacity;
  }
}
