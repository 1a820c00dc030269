/** Argument checks of the kv and slot calls, shared by every backend (they throw TypeError). */

export function checkKv(key: string, value: string, ttlMs?: number): void {
  if (typeof key !== "string" || key.length === 0) throw new TypeError("kvSet: key must be a non-empty string");
  if (typeof value !== "string") throw new TypeError("kvSet: value must be a string");
  if (ttlMs !== undefined && (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0)) {
    throw new TypeError("kvSet: ttlMs must be a positive number of milliseconds");
  }
}

export function checkSlot(leaseId: string, cap: number, ttlMs: number): void {
  if (typeof leaseId !== "string" || leaseId.length === 0) throw new TypeError("acquireSlot: leaseId must be a non-empty string");
  if (!Number.isInteger(cap) || cap < 0) throw new TypeError("acquireSlot: cap must be an integer ≥ 0");
  if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError("acquireSlot: ttlMs must be a positive number");
}
