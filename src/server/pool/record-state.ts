/**
 * Pure functions over one AccountRecord: time-based normalisation (cooldown end, bucket reset),
 * exhaustion, local quota estimates, applying upstream readings. Records are treated as
 * immutable: every change returns a new object, unchanged input is returned as is.
 */
import type { QuotaReading } from "./api.js";
import { detectTier } from "./tiers.js";
import type { AccountRecord, AccountStatus, QuotaBucket } from "../core/account.js";

/** A durable change: applied to the current stored record (atomic read-modify-write). null = no change. */
export type Mutation = (rec: AccountRecord, now: number) => AccountRecord | null;

/** Unpersisted local decrements of one bucket: total amount, time of the latest one. */
export interface LedgerItem {
  n: number;
  at: number;
}
export type Ledger = Map<string, LedgerItem>;

/**
 * Queries a bucket must have left to take a request of `cost`. A bucket at 0 refuses even
 * cost-0 requests: upstream rejects the whole mode once it is exhausted.
 */
export function needFor(cost: number): number {
  return cost > 0 ? cost : 1;
}

/** Remaining known and below `need`, with the reset in the future (or unknown). */
export function isExhausted(b: QuotaBucket | undefined, need: number, now: number): boolean {
  if (b === undefined || b.remaining === null || b.remaining >= need) return false;
  return b.resetAt === null || b.resetAt > now;
}

/** A bucket whose reset passed: back to its total ("estimated"; "unknown" when the total is unknown). */
function restoreBucket(b: QuotaBucket): QuotaBucket {
  return { ...b, remaining: b.total, confidence: b.total === null ? "unknown" : "estimated", resetAt: null };
}

/** Cooling past cooldownUntil → active; buckets past resetAt → restored. Same object when nothing changed. */
export function normalizeRecord(rec: AccountRecord, now: number): AccountRecord {
  let out = rec;
  if (rec.status === "cooling" && rec.cooldownUntil !== null && rec.cooldownUntil <= now) {
    out = { ...rec, status: "active", statusReason: "", statusAt: rec.cooldownUntil, cooldownUntil: null };
  }
  let quota: Record<string, QuotaBucket> | null = null;
  for (const key of Object.keys(rec.quota)) {
    const b = rec.quota[key]!;
    if (b.resetAt !== null && b.resetAt <= now) {
      quota ??= { ...rec.quota };
      quota[key] = restoreBucket(b);
    }
  }
  return quota === null ? out : { ...out, quota };
}

/** Earliest time normalizeRecord would change something; Infinity when never. */
export function nextChangeAt(rec: AccountRecord): number {
  let t = Infinity;
  if (rec.status === "cooling" && rec.cooldownUntil !== null) t = rec.cooldownUntil;
  for (const key of Object.keys(rec.quota)) {
    const r = rec.quota[key]!.resetAt;
    if (r !== null && r < t) t = r;
  }
  return t;
}

export function effectiveStatus(rec: AccountRecord, now: number): AccountStatus {
  if (rec.status === "cooling" && rec.cooldownUntil !== null && rec.cooldownUntil <= now) return "active";
  return rec.status;
}

/**
 * When the account can take a request again (for `bucket`, or for any bucket when omitted):
 * `now` when it can now, a future time when that is known, null when never / unknown
 * (dead, disabled, exhausted with unknown reset).
 */
export function usableAt(rec: AccountRecord, now: number, bucket?: string): number | null {
  const status = effectiveStatus(rec, now);
  if (status === "dead" || status === "disabled") return null;
  let t = now;
  if (status === "cooling") {
    if (rec.cooldownUntil === null) return null;
    t = rec.cooldownUntil;
  }
  const r = bucket === undefined ? anyBucketUsableAt(rec, now) : bucketUsableAt(rec.quota[bucket], now);
  if (r === null) return null;
  return Math.max(t, r);
}

function bucketUsableAt(b: QuotaBucket | undefined, now: number): number | null {
  if (!isExhausted(b, 1, now)) return now;
  return b!.resetAt;
}

/** An account without known quota, or with one bucket left, is usable; otherwise the earliest reset. */
function anyBucketUsableAt(rec: AccountRecord, now: number): number | null {
  let earliest: number | null = null;
  let known = 0;
  for (const key of Object.keys(rec.quota)) {
    const b = rec.quota[key]!;
    if (b.remaining === null) continue;
    known++;
    const t = bucketUsableAt(b, now);
    if (t === now) return now;
    if (t !== null && (earliest === null || t < earliest)) earliest = t;
  }
  return known === 0 ? now : earliest;
}

/**
 * Local estimate: remaining −= delta (delta < 0 gives back), clamped to [0, total].
 * A confirmed figure becomes "estimated". When it runs out with no known reset, the reset is
 * estimated as `now + window`. Unknown buckets are left alone.
 */
export function withDecrement(rec: AccountRecord, bucket: string, delta: number, now: number): AccountRecord {
  const b = rec.quota[bucket];
  if (b === undefined || b.remaining === null || delta === 0) return rec;
  let remaining = Math.max(0, b.remaining - delta);
  if (b.total !== null && b.total >= 0) remaining = Math.min(remaining, b.total);
  if (remaining === b.remaining) return rec; // e.g. a confirmed 0 stays a confirmed 0
  let resetAt = b.resetAt;
  if (remaining < 1 && resetAt === null && b.windowSeconds) resetAt = now + b.windowSeconds * 1000;
  const confidence = b.confidence === "confirmed" ? "estimated" : b.confidence;
  return { ...rec, quota: { ...rec.quota, [bucket]: { ...b, remaining, confidence, resetAt } } };
}

/**
 * Applies unpersisted local decrements. A decrement older than the bucket's last upstream
 * confirmation is superseded by it and skipped; `onSuperseded` lets the caller drop it.
 */
export function applyLedger(rec: AccountRecord, ledger: Ledger | null, onSuperseded?: (bucket: string) => void): AccountRecord {
  if (ledger === null || ledger.size === 0) return rec;
  let out = rec;
  for (const [bucket, item] of ledger) {
    const b = out.quota[bucket];
    if (b === undefined || b.remaining === null) continue;
    if (b.syncedAt !== null && b.syncedAt > item.at) {
      onSuperseded?.(bucket);
      continue;
    }
    out = withDecrement(out, bucket, item.n, item.at);
  }
  return out;
}

/** A confirmed bucket from an upstream reading. Never pushes an earlier known reset further out. */
export function bucketFromReading(prev: QuotaBucket | undefined, r: QuotaReading, now: number): QuotaBucket {
  let resetAt = r.resetAt;
  const full = r.total > 0 && r.remaining >= r.total;
  if (resetAt === null && !full) {
    const byWindow = r.windowSeconds ? now + r.windowSeconds * 1000 : null;
    const earlier = prev?.resetAt != null && prev.resetAt > now ? prev.resetAt : null;
    resetAt = earlier === null ? byWindow : byWindow === null ? earlier : Math.min(earlier, byWindow);
  }
  return {
    remaining: Math.max(0, r.remaining),
    total: r.total,
    confidence: "confirmed",
    resetAt,
    windowSeconds: r.windowSeconds,
    syncedAt: now,
  };
}

/** Mutation: confirmed buckets from readings; tier re-detected when tierSource is "detected". */
export function applyReadingsMutation(readings: readonly QuotaReading[]): Mutation {
  return (rec, now) => {
    if (readings.length === 0) return null;
    const quota = { ...rec.quota };
    for (const r of readings) quota[r.mode] = bucketFromReading(rec.quota[r.mode], r, now);
    let tier = rec.tier;
    if (rec.tierSource === "detected") tier = detectTier(quota) ?? rec.tier;
    return { ...rec, quota, tier };
  };
}
