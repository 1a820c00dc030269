/**
 * The selection scan: one pass over all accounts, O(n) with a handful of comparisons each.
 * Classifies every account of a sufficient tier (for NoAccountError) and keeps the best eligible one.
 *
 * Ranking: lowest sufficient tier; confirmed remaining before estimated before unknown; fewer
 * in flight; least recently used; random among equals (lowest per-entry random salt, see
 * PoolEntry.salt: no random() call per tie).
 */
import { ABSENT, CONF_UNKNOWN, ST_COOLING, ST_DEAD, bucketId, type Columns } from "./columns.js";
import type { PoolEntry } from "./entry.js";
import type { NoAccountCounts } from "./no-account-error.js";

export interface ScanQuery {
  /** Quota bucket; "" = none. */
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
}

/**
 * The scan's output. Written into an object made before the loop: an object literal built after
 * the hot loop made V8 deoptimise the loop's OSR code on every call.
 */
export class ScanResult {
  best: PoolEntry | null = null;
  counts: NoAccountCounts;
  /** Earliest time a cooling/exhausted account of a sufficient tier serves this bucket again. */
  nextAvailableAt: number | null = null;

  constructor(total: number) {
    this.counts = { total, tierOk: 0, dead: 0, cooling: 0, quota: 0, excluded: 0, busy: 0 };
  }
}

const NO_F64 = new Float64Array(0);
const NO_I8 = new Int8Array(0);

/**
 * `entries[i]` is the account in slot i of `cols`. `onStale` is called for an account whose
 * cooldown end or bucket reset has passed; it must refresh that slot's columns (normalisation).
 */
export function scanEntries(
  cols: Columns,
  entries: readonly PoolEntry[],
  q: ScanQuery,
  onStale: (e: PoolEntry, now: number) => void,
  out: ScanResult,
): void {
  const { need, minRank, exclude, cap, refused, now } = q;
  const n = cols.size;
  const { tier, status, inFlight, nextChange, lastLeased, salt } = cols;
  const bc = q.bucket === "" ? undefined : cols.buckets[bucketId(q.bucket)];
  const hasBucket = bc !== undefined;
  const rem = bc?.remaining ?? NO_F64;
  const reset = bc?.resetAt ?? NO_F64;
  const confs = bc?.conf ?? NO_I8;
  let tierOk = 0;
  let dead = 0;
  let cooling = 0;
  let quota = 0;
  let excluded = 0;
  let busy = 0;
  let next = Infinity;
  let best = -1;
  let bTier = 0;
  let bConf = 0;
  let bIn = 0;
  let bLast = 0;
  let bSalt = 0;
  for (let i = 0; i < n; i++) {
    const t = tier[i]!;
    if (t < minRank) continue;
    if (nextChange[i]! <= now) onStale(entries[i]!, now);
    tierOk++;
    const st = status[i]!;
    if (st >= ST_DEAD) {
      dead++;
      continue;
    }
    let conf = CONF_UNKNOWN;
    let exhausted = false;
    let resetAt = Number.NaN;
    if (hasBucket) {
      const c = confs[i]!;
      if (c !== ABSENT) {
        conf = c;
        resetAt = reset[i]!;
        // remaining known (not NaN) and < need, reset unknown (NaN) or in the future
        exhausted = rem[i]! < need && (resetAt !== resetAt || resetAt > now);
      }
    }
    if (st === ST_COOLING) {
      cooling++;
      let until = entries[i]!.rec.cooldownUntil ?? Infinity;
      if (exhausted) until = Math.max(until, resetAt === resetAt ? resetAt : Infinity);
      if (until < next) next = until;
      continue;
    }
    if (exhausted) {
      quota++;
      if (resetAt === resetAt && resetAt < next) next = resetAt;
      continue;
    }
    if (exclude !== null && exclude.has(entries[i]!.rec.token)) {
      excluded++;
      continue;
    }
    const inf = inFlight[i]!;
    if ((cap > 0 && inf >= cap) || (refused !== null && refused.has(entries[i]!))) {
      busy++;
      continue;
    }
    const last = lastLeased[i]!;
    const sl = salt[i]!;
    if (best >= 0) {
      let d = t - bTier;
      if (d === 0) d = conf - bConf;
      if (d === 0) d = inf - bIn;
      if (d === 0) d = last - bLast;
      if (d === 0) d = sl - bSalt;
      if (d >= 0) continue;
    }
    best = i;
    bTier = t;
    bConf = conf;
    bIn = inf;
    bLast = last;
    bSalt = sl;
  }
  out.best = best >= 0 ? entries[best]! : null;
  const c = out.counts;
  c.tierOk = tierOk;
  c.dead = dead;
  c.cooling = cooling;
  c.quota = quota;
  c.excluded = excluded;
  c.busy = busy;
  out.nextAvailableAt = next === Infinity ? null : next;
}
