/** Read-only views over the pool's accounts: per-account view, pool statistics, earliest reset. */
import type { AccountView, PoolStats } from "./api.js";
import type { PoolEntry } from "./entry.js";
import { effectiveStatus, usableAt } from "./record-state.js";

export function accountView(e: PoolEntry, now: number): AccountView {
  const rec = e.rec;
  return { ...rec, inFlight: e.inFlight, effectiveStatus: effectiveStatus(rec, now), usable: usableAt(rec, now) === now };
}

/** Earliest time any currently unusable (cooling / exhausted) account becomes usable again; null if none. */
export function earliestUsableAt(entries: readonly PoolEntry[], now: number, bucket?: string): number | null {
  let best: number | null = null;
  for (const e of entries) {
    const t = usableAt(e.rec, now, bucket);
    if (t !== null && t > now && (best === null || t < best)) best = t;
  }
  return best;
}

/** cooling = effectively cooling + active with every known bucket exhausted; total = usable + cooling + dead + disabled. */
export function poolStats(entries: readonly PoolEntry[], now: number): PoolStats {
  const s: PoolStats = { total: entries.length, usable: 0, cooling: 0, dead: 0, disabled: 0, inFlight: 0, nextResetAt: null, byTier: { basic: 0, super: 0, heavy: 0 } };
  for (const e of entries) {
    const rec = e.rec;
    s.byTier[rec.tier]++;
    s.inFlight += e.inFlight;
    const status = effectiveStatus(rec, now);
    if (status === "dead") s.dead++;
    else if (status === "disabled") s.disabled++;
    else if (usableAt(rec, now) === now) s.usable++;
    else s.cooling++;
  }
  s.nextResetAt = earliestUsableAt(entries, now);
  return s;
}
