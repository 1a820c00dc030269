import type { QuotaBucketInfo, TokenInfo } from "../../shared/admin-api";

export type QuotaTone = "ok" | "low" | "empty" | "unknown";

/** One bucket as a bar: the share left, how sure we are, and a tone for colour. */
export interface QuotaBarModel {
  remaining: number | null;
  total: number | null;
  /** 0..100, or null when the total is unknown. */
  percent: number | null;
  confidence: QuotaBucketInfo["confidence"];
  tone: QuotaTone;
  resetAt: number | null;
}

export function quotaBar(b: Pick<QuotaBucketInfo, "remaining" | "total" | "confidence" | "resetAt"> | undefined): QuotaBarModel {
  if (!b || b.remaining === null || b.total === null || b.total <= 0 || b.confidence === "unknown")
    return { remaining: b?.remaining ?? null, total: b?.total ?? null, percent: null, confidence: b?.confidence ?? "unknown", tone: "unknown", resetAt: b?.resetAt ?? null };
  const remaining = Math.max(0, Math.min(b.remaining, b.total));
  const percent = Math.round((remaining / b.total) * 1000) / 10;
  const tone: QuotaTone = remaining === 0 ? "empty" : percent < 20 ? "low" : "ok";
  return { remaining, total: b.total, percent, confidence: b.confidence, tone, resetAt: b.resetAt };
}

/** The pool's quota in one bucket: confirmed and estimated parts summed separately. */
export interface PoolBucket {
  bucket: string;
  accounts: number;
  confirmed: { remaining: number; total: number };
  estimated: { remaining: number; total: number };
  unknown: number;
  /** Earliest reset among accounts that have none left. */
  nextResetAt: number | null;
}

const BUCKET_ORDER = ["fast", "auto", "expert", "heavy", "image", "video"];

/** Sums every usable or cooling account's buckets (disabled and dead accounts serve nothing). */
export function poolQuota(accounts: TokenInfo[]): PoolBucket[] {
  const by = new Map<string, PoolBucket>();
  for (const a of accounts) {
    if (a.state === "disabled" || a.state === "dead") continue;
    for (const [bucket, q] of Object.entries(a.quota)) {
      let p = by.get(bucket);
      if (!p) by.set(bucket, (p = { bucket, accounts: 0, confirmed: { remaining: 0, total: 0 }, estimated: { remaining: 0, total: 0 }, unknown: 0, nextResetAt: null }));
      p.accounts++;
      if (q.confidence === "unknown" || q.remaining === null || q.total === null) {
        p.unknown++;
        continue;
      }
      const part = q.confidence === "confirmed" ? p.confirmed : p.estimated;
      part.remaining += Math.max(0, Math.min(q.remaining, q.total));
      part.total += q.total;
      if (q.remaining <= 0 && q.resetAt !== null && (p.nextResetAt === null || q.resetAt < p.nextResetAt)) p.nextResetAt = q.resetAt;
    }
  }
  const rank = (b: string) => (BUCKET_ORDER.indexOf(b) + 1 || 99);
  return [...by.values()].sort((x, y) => rank(x.bucket) - rank(y.bucket) || x.bucket.localeCompare(y.bucket));
}

/** Shares of the pool bar: confirmed left, estimated left (of the whole total), 0..100. */
export function poolShares(p: PoolBucket): { confirmed: number; estimated: number; total: number; remaining: number } {
  const total = p.confirmed.total + p.estimated.total;
  const remaining = p.confirmed.remaining + p.estimated.remaining;
  if (total <= 0) return { confirmed: 0, estimated: 0, total, remaining };
  return { confirmed: (p.confirmed.remaining / total) * 100, estimated: (p.estimated.remaining / total) * 100, total, remaining };
}
