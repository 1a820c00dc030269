import type { Tier } from "../core/account.js";

/**
 * Why no lease was given. "queue_timeout" / "queue_full" come from admission (admission.ts): every
 * eligible account stayed at its cap for the whole allowed wait, or too many requests wait already.
 */
export type NoAccountReason = "empty" | "tier" | "all_dead" | "all_cooling" | "quota" | "busy" | "excluded" | "queue_timeout" | "queue_full";

/** How the accounts of a sufficient tier were classified when no lease could be given. */
export interface NoAccountCounts {
  total: number;
  tierOk: number;
  dead: number;
  cooling: number;
  quota: number;
  excluded: number;
  busy: number;
}

export interface NoAccountDetails {
  bucket?: string;
  minTier?: Tier;
  counts?: NoAccountCounts;
}

/** Thrown by AccountPool.lease() when no account can serve the request. */
export class NoAccountError extends Error {
  override readonly name = "NoAccountError";
  readonly reason: NoAccountReason;
  /** Earliest time an eligible account frees up (cooldown end / bucket reset), null if none known. */
  readonly nextAvailableAt: number | null;
  readonly retryAfterMs: number | null;
  readonly bucket: string | null;
  readonly minTier: Tier | null;
  readonly counts: NoAccountCounts | null;

  constructor(
    reason: NoAccountReason,
    message: string,
    nextAvailableAt: number | null = null,
    retryAfterMs: number | null = null,
    details: NoAccountDetails = {},
  ) {
    super(message);
    this.reason = reason;
    this.nextAvailableAt = nextAvailableAt;
    this.retryAfterMs = retryAfterMs;
    this.bucket = details.bucket ?? null;
    this.minTier = details.minTier ?? null;
    this.counts = details.counts ?? null;
  }
}

function at(t: number | null): string {
  return t === null ? "an unknown time" : new Date(t).toISOString();
}

/** Picks the reason by precedence (empty, tier, all_dead, quota/all_cooling, busy, excluded) and words the message. */
export function buildNoAccountError(
  c: NoAccountCounts,
  nextAvailableAt: number | null,
  now: number,
  bucket: string,
  minTier: Tier,
  cap: number,
  storeRefused: boolean,
): NoAccountError {
  const retryAfterMs = nextAvailableAt === null ? null : Math.max(0, nextAvailableAt - now);
  const details: NoAccountDetails = { bucket, minTier, counts: c };
  const make = (reason: NoAccountReason, message: string) =>
    new NoAccountError(reason, message, nextAvailableAt, retryAfterMs, details);
  const what = bucket === "" ? "this request" : `"${bucket}"`;
  if (c.total === 0) return make("empty", "No accounts in the pool: add grok.com SSO tokens first.");
  if (c.tierOk === 0) return make("tier", `No account of tier ${minTier} or higher in the pool for ${what}.`);
  if (c.dead === c.tierOk) {
    return make("all_dead", `Every account of tier ${minTier} or higher (${c.dead}) is dead or disabled; log in again or test them.`);
  }
  const live = c.tierOk - c.dead;
  if (c.cooling + c.quota === live) {
    if (c.quota === 0) {
      return make("all_cooling", `All ${live} eligible accounts are cooling down until ${at(nextAvailableAt)}.`);
    }
    return make("quota", `All ${live} eligible accounts have no ${what} quota left (or are cooling); next reset at ${at(nextAvailableAt)}.`);
  }
  if (c.busy > 0) {
    const why = storeRefused ? "(slots held by this or other processes)" : `(${cap} per account)`;
    return make("busy", `All eligible accounts are at their concurrency limit ${why}.`);
  }
  return make("excluded", `All ${c.excluded} eligible accounts were already tried for this request.`);
}
