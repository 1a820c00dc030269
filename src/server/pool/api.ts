/**
 * Public contract of the account pool (the request pipeline is written against it).
 * Implementation: account-pool.ts. Everything here is re-exported by index.ts.
 */
import type { Store } from "../store/types.js";
import type { AccountRecord, AccountStatus, Clock, FailureKind, Tier } from "../core/account.js";
import type { QuotaReading } from "../core/quota.js";
import type { AdmissionTimers } from "./admission.js";

export type { QuotaReading };

/** The narrow part of the Store the pool depends on. */
export type PoolStore = Pick<
  Store,
  "putAccounts" | "updateAccount" | "deleteAccounts" | "recordUsage" | "acquireSlot" | "releaseSlot" | "listAccounts" | "getAccount"
>;


/** Implemented by the grok client (src/server/grok/quota.ts). Throws an Error with a `kind: FailureKind` property on failure. */
export interface QuotaSource {
  /** POST /rest/rate-limits for each chat mode (fast, auto, expert, heavy) the account may have; unknown modes omitted. */
  chatQuota(account: AccountRecord, modes: string[]): Promise<QuotaReading[]>;
  /** POST /rest/media/imagine/quota_info → buckets image_pro, image_edit, video, video_720p (only those available). */
  mediaQuota(account: AccountRecord): Promise<QuotaReading[]>;
}

export interface LeaseRequest {
  /** Quota bucket / mode id, e.g. "fast", "expert", "image_pro". "" = no quota bucket (whole account). */
  bucket: string;
  /** Queries this request consumes (≥ 0). */
  cost: number;
  /** Lowest tier that serves the model. */
  minTier: Tier;
  /** Tokens already tried by this request. */
  exclude?: ReadonlySet<string>;
  requestId?: string;
}

export interface FailOptions {
  retryAfterMs?: number;
  resetAt?: number;
}

export interface Lease {
  readonly id: string;
  readonly token: string;
  /** Snapshot at lease time. */
  readonly account: Readonly<AccountRecord>;
  /** Success: updates lastUsed/useCount (batched via store.recordUsage), optional quota hint; releases. */
  succeed(info?: { quota?: QuotaReading[] }): Promise<void>;
  /** Failure with its kind; applies the kind's reaction durably (store.updateAccount) before resolving; releases. */
  fail(kind: FailureKind, message: string, opts?: FailOptions): Promise<void>;
  /** Releases without an outcome (client abort etc.). Idempotent; safe to call after succeed/fail. */
  release(): Promise<void>;
}

export type PoolLogLevel = "debug" | "info" | "warn" | "error";
export type PoolLogger = (level: PoolLogLevel, msg: string, fields?: Record<string, unknown>) => void;

export interface PoolOptions {
  store: PoolStore;
  /** Default systemClock. */
  clock?: Clock;
  /** Default Math.random (tests inject a seeded one). */
  random?: () => number;
  /** Default 4; 0 = unlimited. */
  concurrencyPerAccount?: number;
  /** Default 10 min (crash safety for cross-process slots). */
  slotTtlMs?: number;
  /**
   * Cooldowns in ms. Defaults: upstream_error 30 s, timeout 30 s, empty 60 s;
   * rate_limited is the backoff base (60 s), doubled per consecutive rate limit, capped by rateLimitBackoffMaxMs.
   */
  cooldowns?: Partial<Record<FailureKind, number>>;
  /** Cap of the rate-limit backoff. Default 1 h. */
  rateLimitBackoffMaxMs?: number;
  quotaSource?: QuotaSource;
  /** Periodic sync per tier. Defaults basic 30 min, super 15 min, heavy 10 min; 0 = never. */
  syncIntervalMs?: Partial<Record<Tier, number>>;
  /** "After use" sync delay after a lease of the account ended. Default 5 s. */
  afterUseSyncDelayMs?: number;
  /** How often the started scheduler looks for due work. Default 1 s. */
  syncTickMs?: number;
  /** Maximum concurrent quota syncs started by the scheduler. Default 4. */
  syncConcurrency?: number;
  /** How often the scheduler persists local quota estimates of accounts that had no other write. Default 30 s. */
  estimateFlushMs?: number;
  log?: PoolLogger;
  /** Timers of admission waits and polls (default the global ones, unref'd; tests inject fakes). */
  timers?: AdmissionTimers;
  /** Admission's poll for slots freed by other processes while requests wait: first after `min` ms, doubling to `max`. Default 25 / 250. */
  admissionPollMs?: { min: number; max: number };
}

export interface AccountView extends AccountRecord {
  inFlight: number;
  /** The status as of now (a cooling account whose cooldown has passed is "active"). */
  effectiveStatus: AccountStatus;
  /** Active and at least one quota bucket not exhausted (or no quota known). */
  usable: boolean;
}

export interface PoolStats {
  total: number;
  usable: number;
  /** Effectively cooling, plus active accounts whose every known bucket is exhausted. total = usable + cooling + dead + disabled. */
  cooling: number;
  dead: number;
  disabled: number;
  inFlight: number;
  nextResetAt: number | null;
  byTier: Record<Tier, number>;
}
