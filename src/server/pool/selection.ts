/**
 * The selection scan: one pass over all accounts, O(n) with a handful of comparisons each.
 * Classifies every account of a sufficient tier (for NoAccountError) and keeps the best eligible one.
 *
 * Ranking: lowest sufficient tier; confirmed remaining before estimated before unknown; fewer
 * in flight; least recently used; uniformly random among equals (reservoir sampling).
 */
import type { PoolEntry } from "./entry.js";
import type { NoAccountCounts } from "./no-account-error.js";
import { isExhausted } from "./record-state.js";

export interface ScanQuery {
  bucket: string;
  /** Queries the bucket must still have (needFor(cost)). */
  need: number;
  minRank: number;
  exclude: ReadonlySet<string> | null;
  /** 0 = unlimited. */
  cap: number;
  /** Accounts whose store slot was refused during this lease call. */
  refused: ReadonlySet<PoolEntry> | null;
  now: number;
  random: () => number;
}

export interface ScanResult {
  best: PoolEntry | null;
  counts: NoAccountCounts;
  /** Earliest time a cooling/exhausted account of a sufficient tier serves this bucket again. */
  nextAvailableAt: number | null;
}

export function scanEntries(entries: readonly PoolEntry[], q: ScanQuery, onStale: (e: PoolEntry, now: number) => void): ScanResult {
  const { bucket, need, minRank, exclude, cap, refused, now } = q;
  const counts: NoAccountCounts = { total: entries.length, tierOk: 0, dead: 0, cooling: 0, quota: 0, excluded: 0, busy: 0 };
  let next = Infinity;
  let best: PoolEntry | null = null;
  let bTier = 0;
  let bConf = 0;
  let bIn = 0;
  let bLast = 0;
  let ties = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.tierRank < minRank) continue;
    if (e.nextChangeAt <= now) onStale(e, now);
    counts.tierOk++;
    const rec = e.rec;
    const status = rec.status;
    if (status === "dead" || status === "disabled") {
      counts.dead++;
      continue;
    }
    const b = bucket === "" ? undefined : rec.quota[bucket];
    const exhausted = isExhausted(b, need, now);
    if (status === "cooling") {
      counts.cooling++;
      let t = rec.cooldownUntil ?? Infinity;
      if (exhausted) t = Math.max(t, b!.resetAt ?? Infinity);
      if (t < next) next = t;
      continue;
    }
    if (exhausted) {
      counts.quota++;
      const t = b!.resetAt ?? Infinity;
      if (t < next) next = t;
      continue;
    }
    if (exclude !== null && exclude.has(rec.token)) {
      counts.excluded++;
      continue;
    }
    if ((cap > 0 && e.inFlight >= cap) || (refused !== null && refused.has(e))) {
      counts.busy++;
      continue;
    }
    const conf = b === undefined || b.remaining === null ? 2 : b.confidence === "confirmed" ? 0 : 1;
    if (best !== null) {
      let d = e.tierRank - bTier;
      if (d === 0) d = conf - bConf;
      if (d === 0) d = e.inFlight - bIn;
      if (d === 0) d = e.lastLeasedAt - bLast;
      if (d > 0) continue;
      if (d === 0) {
        ties++;
        if (q.random() * ties >= 1) continue; // keep the current one with probability (ties-1)/ties
      } else ties = 1;
    } else ties = 1;
    best = e;
    bTier = e.tierRank;
    bConf = conf;
    bIn = e.inFlight;
    bLast = e.lastLeasedAt;
  }
  return { best, counts, nextAvailableAt: next === Infinity ? null : next };
}
