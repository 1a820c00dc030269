/** The defaults of PoolOptions that more than one part of the pool reads: failure reactions and sync intervals. */
import type { PoolOptions } from "./api.js";
import { DEFAULT_COOLDOWNS, DEFAULT_RATE_LIMIT_BACKOFF_MAX_MS, type ReactionConfig } from "./reactions.js";
import type { Tier } from "../core/account.js";

export const DEFAULT_SYNC_INTERVALS: Readonly<Record<Tier, number>> = { basic: 30 * 60_000, super: 15 * 60_000, heavy: 10 * 60_000 };

/** Cooldowns and rate-limit backoff cap, each option falling back to its default. */
export function reactionConfig(opts: PoolOptions): ReactionConfig {
  const c = opts.cooldowns ?? {};
  return {
    cooldowns: {
      rate_limited: c.rate_limited ?? DEFAULT_COOLDOWNS.rate_limited,
      upstream_error: c.upstream_error ?? DEFAULT_COOLDOWNS.upstream_error,
      timeout: c.timeout ?? DEFAULT_COOLDOWNS.timeout,
      empty: c.empty ?? DEFAULT_COOLDOWNS.empty,
    },
    rateLimitBackoffMaxMs: opts.rateLimitBackoffMaxMs ?? DEFAULT_RATE_LIMIT_BACKOFF_MAX_MS,
  };
}

/** Periodic quota sync interval per tier (0 = never), each falling back to DEFAULT_SYNC_INTERVALS. */
export function syncIntervals(opts: PoolOptions): Record<Tier, number> {
  const si = opts.syncIntervalMs ?? {};
  return {
    basic: si.basic ?? DEFAULT_SYNC_INTERVALS.basic,
    super: si.super ?? DEFAULT_SYNC_INTERVALS.super,
    heavy: si.heavy ?? DEFAULT_SYNC_INTERVALS.heavy,
  };
}
