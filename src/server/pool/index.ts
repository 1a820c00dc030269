/** The account pool: selection, leases, cooldowns, health, quota sync. See account-pool.ts. */
export type {
  AccountView, FailOptions, Lease, LeaseRequest, PoolLogLevel, PoolLogger, PoolOptions, PoolStats, PoolStore, QuotaReading, QuotaSource,
} from "./api.js";
export { AccountPool, DEFAULT_SYNC_INTERVALS } from "./account-pool.js";
export type { AdmissionStats, AdmissionTimers, AdmitOptions, QueueOutcome } from "./admission.js";
export type { AccountPatch, AddOptions } from "./mutations.js";
export { NoAccountError, type NoAccountCounts, type NoAccountReason } from "./no-account-error.js";
export { DEFAULT_COOLDOWNS, DEFAULT_RATE_LIMIT_BACKOFF_MAX_MS, FAILURE_KINDS, isFailureKind } from "./reactions.js";
export { failureKindOf } from "./quota-sync.js";
export { CHAT_MODES, MEDIA_BUCKETS, TIER_RANK, chatModesFor, detectTier, isTier, tierFromLegacyPool } from "./tiers.js";
export { maskToken, normalizeToken } from "../core/token.js";
export * from "../core/account.js";
